/** RFC 9110 §5.6.2 `tchar`: what a token (a header name, say) is made of, as the inside of a regular-expression class. */
export const TCHAR = "!#$%&'*+\\-.^_`|~0-9A-Za-z"
