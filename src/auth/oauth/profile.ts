/** Who a provider says signed in, after every protocol check passed. */
export interface ExternalProfile {
  provider: string;
  /** Stable id at the provider (`sub`; GitHub's numeric user id). Never the email, which can change hands. */
  subject: string;
  email: string | null;
  /** Only an explicit "verified" from the provider counts. */
  emailVerified: boolean;
  name: string | null;
}
