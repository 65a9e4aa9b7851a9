/**
 * Text for the SVG captions sharp draws (the grid's word captions, grid.ts; the time-lapse's step
 * counter, timelapse.ts). Words come from the user's prompt, so anything may be in them: markup
 * characters are escaped, and characters XML 1.0 forbids (control characters such as NUL, lone
 * surrogates, U+FFFE/U+FFFF) are dropped, since librsvg refuses the whole image for one of them.
 */
const MARKUP: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' }

const NOT_XML =
  // eslint-disable-next-line no-control-regex -- matching the control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

export function svgText(s: string): string {
  return s.replace(NOT_XML, '').replace(/[<>&'"]/g, (c) => MARKUP[c]!)
}
