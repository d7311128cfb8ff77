import { describe, expect, it } from 'vitest';
import { Problem } from '../../src/core/problems.ts';
import { keysymForName, keysymsForText, parseKeyCombo } from '../../src/infra/desktops/x-keysyms.ts';

describe('key names', () => {
  it.each([
    ['ctrl', 0xffe3],
    ['Control', 0xffe3],
    ['shift', 0xffe1],
    ['alt', 0xffe9],
    ['super', 0xffeb],
    ['meta', 0xffeb],
    ['cmd', 0xffeb],
    ['Return', 0xff0d],
    ['enter', 0xff0d],
    ['esc', 0xff1b],
    ['Escape', 0xff1b],
    ['tab', 0xff09],
    ['backspace', 0xff08],
    ['BackSpace', 0xff08],
    ['delete', 0xffff],
    ['home', 0xff50],
    ['end', 0xff57],
    ['pageup', 0xff55],
    ['page_up', 0xff55],
    ['pagedown', 0xff56],
    ['Page_Down', 0xff56],
    ['up', 0xff52],
    ['down', 0xff54],
    ['left', 0xff51],
    ['right', 0xff53],
    ['space', 0x20],
    ['f1', 0xffbe],
    ['F4', 0xffc1],
    ['f12', 0xffc9],
    ['KP_Enter', 0xff8d],
    ['a', 0x61],
    ['7', 0x37],
    ['_', 0x5f],
  ])('%s is keysym %i', (name, keysym) => {
    expect(keysymForName(name)).toBe(keysym);
  });

  it('reads a letter as its key, whatever its case, as shortcuts are written', () => {
    expect(keysymForName('T')).toBe(keysymForName('t'));
    expect(parseKeyCombo('ctrl+A')).toEqual(parseKeyCombo('ctrl+a'));
  });

  it('splits a combo into keysyms in press order', () => {
    expect(parseKeyCombo('ctrl+shift+t')).toEqual([0xffe3, 0xffe1, 0x74]);
    expect(parseKeyCombo('alt+F4')).toEqual([0xffe9, 0xffc1]);
  });

  it('refuses an unknown name with a 400 problem naming it', () => {
    expect(() => parseKeyCombo('ctrl+nosuchkey')).toThrow(Problem);
    expect(() => parseKeyCombo('ctrl+nosuchkey')).toThrow(/unknown key "nosuchkey"/);
    expect(() => parseKeyCombo('ctrl++')).toThrow(Problem);
  });
});

describe('text to keysyms', () => {
  it('keeps Latin-1 as is and puts everything else in the Unicode keysym range, astral characters whole', () => {
    expect(keysymsForText('aZ~é')).toEqual([0x61, 0x5a, 0x7e, 0xe9]);
    expect(keysymsForText('✓日😀')).toEqual([0x1002713, 0x10065e5, 0x101f600]);
  });

  it('types newlines (LF, CR, CRLF) as one Return each and tabs as Tab', () => {
    expect(keysymsForText('a\nb\r\nc\rd\te')).toEqual([0x61, 0xff0d, 0x62, 0xff0d, 0x63, 0xff0d, 0x64, 0xff09, 0x65]);
  });

  it('refuses control characters with their position, never the text', () => {
    const attempt = () => keysymsForText('secret\u0007pw');
    expect(attempt).toThrow(Problem);
    expect(attempt).toThrow(/U\+0007 at index 6/);
    expect(attempt).not.toThrow(/secret/);
    expect(() => keysymsForText('x\ud800')).toThrow(/U\+D800 at index 1/);
  });
});
