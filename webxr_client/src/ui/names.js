// Display names: the server's rules (docs/PROTOCOL.md section 2: 1-32 characters after NFC normalisation
// and collapsing runs of spaces; no control, format, surrogate, private-use or unassigned code points)
// checked before a join, so a shopper hears what is wrong in words; and names to choose from in a
// headset, where there is no keyboard.

export const MAX_NAME_CHARS = 32;
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u;

/** {name} ready to send, or {error} in words. */
export function checkName(raw) {
  const name = String(raw ?? '').normalize('NFC').replace(/\s+/gu, ' ').trim();
  if (!name) return { error: 'Please type a name (up to 32 characters).' };
  if ([...name].length > MAX_NAME_CHARS) return { error: `That name is ${[...name].length} characters; 32 at most, please.` };
  if (FORBIDDEN.test(name)) return { error: 'That name has an invisible or control character; please type it again.' };
  return { name };
}

const FIRST = ['Amber', 'Blue', 'Brave', 'Calm', 'Clever', 'Coral', 'Golden', 'Happy', 'Jolly', 'Kind', 'Lucky',
  'Mint', 'Quiet', 'Rosy', 'Silver', 'Sunny', 'Swift', 'Teal', 'Witty', 'Zesty'];
const SECOND = ['Badger', 'Crane', 'Dolphin', 'Falcon', 'Fox', 'Gecko', 'Heron', 'Koala', 'Lynx', 'Marten', 'Otter',
  'Owl', 'Panda', 'Puffin', 'Robin', 'Seal', 'Swan', 'Tiger', 'Wren', 'Yak'];

/** The k-th suggested name (any integer k; the list repeats after 400). */
export function suggestedName(k) {
  const n = FIRST.length * SECOND.length;
  const i = ((Math.trunc(k) % n) + n) % n;
  // Stride through the pairs so neighbours differ in both words.
  const j = (i * 37) % n;
  return `${FIRST[j % FIRST.length]} ${SECOND[Math.floor(j / FIRST.length)]}`;
}
