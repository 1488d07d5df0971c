/** The API key a request presents: `x-api-key`, else `Authorization: Bearer <key>`. */
export const presentedKey = (headers: Readonly<Record<string, string | undefined>>): string | undefined => {
  const header = headers["x-api-key"]
  if (header !== undefined && header !== "") return header
  const auth = headers["authorization"]
  return auth !== undefined && /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, "").trim() : undefined
}
