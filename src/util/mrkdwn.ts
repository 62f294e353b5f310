/**
 * Text people typed (a justification, a name, a reason, a note) and text from outside (an API's message, an
 * e-mail an app stores) is shown to others in Slack messages. In mrkdwn, `<…>` is markup: `<!channel>` pings a
 * whole channel, `<@U…>` mentions someone and `<https://evil|looks-safe>` disguises a link. Slack's rule is to
 * escape exactly `&`, `<` and `>`; everything else (bold, italics) stays harmless text styling.
 *
 * `Mrkdwn` is a string the compiler knows is safe to send as mrkdwn. Only the functions in this file make one,
 * and the Block Kit builders take nothing else, so a raw string handed to a builder does not compile.
 */
declare const MRKDWN: unique symbol;
export type Mrkdwn = string & { readonly [MRKDWN]: true };

const brand = (text: string) => text as Mrkdwn;

export function escapeMrkdwn(text: string): Mrkdwn {
  return brand(text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

/**
 * Our own markup around safe values: the literal parts are written here in the code; every value must already
 * be `Mrkdwn` (escaped, or a mention we built) or a number, so a raw string cannot slip in unescaped.
 */
export function mrkdwn(strings: TemplateStringsArray, ...values: readonly (Mrkdwn | number)[]): Mrkdwn {
  return brand(strings.reduce((out, literal, i) => out + literal + (i < values.length ? String(values[i]) : ''), ''));
}

/** Joins safe parts; the separator must be a literal in the code (`'\n'`, `', '`), never a variable. */
export function joinMrkdwn<S extends string>(parts: readonly Mrkdwn[], separator: string extends S ? never : S): Mrkdwn {
  return brand(parts.join(separator));
}

/**
 * For markup the operator wrote on purpose (the `steps` of a manual app in access.config.json), and for text
 * read back from the database that was stored as `Mrkdwn` (an item's detail). Nothing a user typed.
 */
export function trustedMrkdwn(text: string): Mrkdwn {
  return brand(text);
}

/** Slack ids of users (U, W), bots (B), conversations (C, G, D) and user groups (S). */
const SLACK_ID = /^[UWBCGDS][A-Z0-9]+$/;

export function isSlackId(id: string): boolean {
  return SLACK_ID.test(id);
}

/**
 * A live mention of a person (or of a user group, for `itAdmins` given as a group). An id that is not a Slack id
 * (a config typo, a forged value) is shown as escaped text: it must never become markup of its own.
 */
export function mention(id: string): Mrkdwn {
  if (!isSlackId(id)) return escapeMrkdwn(id);
  return brand(id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`);
}

export function channelMention(id: string): Mrkdwn {
  return isSlackId(id) ? brand(`<#${id}>`) : escapeMrkdwn(id);
}

/** A time every reader sees in their own timezone; the fallback is for clients that cannot. */
export function slackDate(epochMs: number): Mrkdwn {
  const seconds = Math.floor(epochMs / 1000);
  return brand(`<!date^${seconds}^{date_short_pretty} {time}|${new Date(epochMs).toISOString().replace('T', ' ').slice(0, 16)} UTC>`);
}

/** A link with a label; a URL that is not plain http(s) or could break out of the markup shows the label alone. */
export function link(url: string, label: Mrkdwn): Mrkdwn {
  if (!/^https?:\/\/[^\s<>|]+$/.test(url)) return label;
  return brand(`<${url.replace(/&/g, '&amp;')}|${label}>`);
}

/** Each line as a block quote. */
export function quoteLines(text: Mrkdwn): Mrkdwn {
  return brand(`>${text.replace(/\n/g, '\n>')}`);
}

/**
 * Cuts mrkdwn into pieces of at most `limit` characters without losing any of it: at a line break if one is in
 * reach, else at a space, else anywhere that is not inside an entity (`&amp;`), our markup (`<@U…>`) or a
 * surrogate pair, so each piece still reads right on its own.
 */
export function splitMrkdwn(text: Mrkdwn, limit: number): Mrkdwn[] {
  const pieces: Mrkdwn[] = [];
  let rest: string = text;
  while (rest.length > limit) {
    const cut = cutPoint(rest, limit);
    pieces.push(brand(rest.slice(0, cut).replace(/\n$/, '')));
    rest = rest.slice(cut);
  }
  if (rest || pieces.length === 0) pieces.push(brand(rest));
  return pieces;
}

function cutPoint(text: string, limit: number): number {
  // A piece that ends at a line break reads best; then a space; only then a hard cut.
  const newline = text.lastIndexOf('\n', limit - 1);
  if (newline >= limit / 2) return newline + 1;
  const space = text.lastIndexOf(' ', limit - 1);
  if (space >= limit / 2) return space + 1;
  let cut = limit;
  const openTag = text.lastIndexOf('<', cut - 1);
  if (openTag !== -1 && text.indexOf('>', openTag) >= cut && openTag > 0) cut = openTag;
  const amp = text.lastIndexOf('&', cut - 1);
  if (amp !== -1 && amp > cut - 6 && /^&(amp|lt|gt);/.test(text.slice(amp)) && text.indexOf(';', amp) >= cut) cut = amp;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  // Only a limit shorter than an entity could leave nothing to cut off; never loop on an empty piece.
  return cut > 0 ? cut : limit;
}
