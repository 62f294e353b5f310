/**
 * Text people typed (a justification, a name, a reason, a note) and text from outside (an API's message, an
 * e-mail an app stores) is shown to others in Slack messages. In mrkdwn, `<…>` is markup: `<!channel>` pings a
 * whole channel, `<@U…>` mentions someone and `<https://evil|looks-safe>` disguises a link. Slack's rule is to
 * escape exactly `&`, `<` and `>`; everything else (bold, italics) stays harmless text styling.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
