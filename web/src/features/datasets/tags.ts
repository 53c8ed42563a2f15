// Tags as a person types them ("support, v2") and as the API keeps them (trimmed, no blanks, no repeats).

export function parseTags(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(",")) {
    const tag = part.trim();
    if (tag && !out.includes(tag)) out.push(tag);
  }
  return out;
}
