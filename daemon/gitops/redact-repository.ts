// A repository URL as it may be shown to a person: any userinfo (a user name, a password, a token
// pasted into the URL) replaced, wherever in a text a URL appears.
import { REDACTED } from '../secrets/index.js';

export function redactRepository(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]*@/gi, `$1${REDACTED}@`);
}
