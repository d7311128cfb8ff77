/**
 * Single use of a sign-in flow, shared by every process (the database), so a
 * replayed callback is refused wherever the load balancer sends it.
 */
export interface UsedFlowStore {
  /**
   * Records the flow as used; false when it already was. Records are kept until the
   * flow would have expired anyway (after that the sealed cookie is refused on its
   * own), and older ones are pruned on the way.
   */
  markUsed(flowId: string, expiresAt: number, now: number): Promise<boolean>;
}
