// What a secret's value may be. Each secret is one encrypted text: a list or
// map holding encrypted values would reach the program as JSON text and be
// used as if it were the key. The TURN secret is written verbatim into
// turnserver.conf (key=value), a Lua string in Prosody's config and Snikket's
// env file: it is held to characters that mean nothing in any of the three.
import { PROJECT_NAME, type SecretKey } from "./config";

/** Letters, digits and + / = . _ ~ - (base64, hex and `openssl rand` output fit); 1-512 characters. */
export const TURN_SECRET_TEXT = /^[A-Za-z0-9+/=._~-]{1,512}$/;

/** The problem with a secret that is structured (a list or map) instead of one encrypted text; the value is never shown. */
export function structuredSecretMessage(key: SecretKey): string {
  return `is a list or map holding encrypted values; expected one encrypted text: pulumi config set --secret ${PROJECT_NAME}:${key} VALUE (the value is not shown here)`;
}

/** Why a TURN secret cannot be written into the edge's and home's files, or undefined; never the value. */
export function turnSecretProblem(secret: string): string | undefined {
  if (TURN_SECRET_TEXT.test(secret)) return undefined;
  return `has ${secret.length === 0 ? "no characters" : secret.length > 512 ? `${secret.length} characters` : "a character other than letters, digits and + / = . _ ~ -"}; expected 1-512 of those (e.g. "$(openssl rand -hex 32)"): it is written verbatim into turnserver.conf, Prosody's config and Snikket's env file, where a quote, space or newline would change them (the value is not shown here)`;
}

/** For the renderers that write the TURN secret: refuses one that would break out of its line or string. */
export function checkedTurnSecret(secret: string): string {
  const problem = turnSecretProblem(secret);
  if (problem) throw new Error(`${PROJECT_NAME}:turnSecret: ${problem}`);
  return secret;
}

/** True when an engine's text of a secret is JSON for a list or a map. */
export function isStructuredText(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object";
  } catch {
    return false;
  }
}
