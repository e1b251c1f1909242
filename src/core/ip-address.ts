// Which IP literals a customer's URL may name: public unicast only. A pure check of the literal in a URL, made
// when a webhook is created; the guard that matters is made again at connect time on the address actually
// dialed (src/adapters/http/webhook-http-client.ts), so a name that resolves, or later rebinds, to a private
// address fails there.

/** The four bytes of a dotted IPv4 literal (as the WHATWG URL parser normalises it), or null. */
function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : NaN));
  return bytes.every((b) => Number.isInteger(b) && b <= 255) ? bytes : null;
}

/** The eight 16-bit groups of an IPv6 literal (no brackets, no zone), or null. */
function parseIpv6(text: string): number[] | null {
  if (!/^[0-9a-f:.]+$/i.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (half: string): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    const pieces = half.split(':');
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === null) return null;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  return missing < 1 ? null : [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** Why an IPv4 address is not public unicast, or null when it is. */
function ipv4Refusal([a = 0, b = 0, c = 0]: number[]): string | null {
  if (a === 0) return 'a "this network" address (0.0.0.0/8)';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'a private address';
  if (a === 127) return 'a loopback address';
  if (a === 169 && b === 254) return 'a link-local address';
  if (a === 100 && b >= 64 && b <= 127) return 'a carrier-grade NAT address (100.64.0.0/10)';
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return 'a reserved address';
  if (a === 198 && (b === 18 || b === 19)) return 'a benchmarking address (198.18.0.0/15)';
  if ((a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113))
    return 'a documentation address';
  if (a >= 224) return 'a multicast, reserved or broadcast address';
  return null;
}

/** Why an IPv6 address is not public unicast, or null when it is. */
function ipv6Refusal(groups: number[]): string | null {
  const [g0 = 0, g1 = 0, , , , g5 = 0, g6 = 0, g7 = 0] = groups;
  const zeroUpTo = (n: number) => groups.slice(0, n).every((g) => g === 0);
  if (zeroUpTo(8)) return 'the unspecified address (::)';
  if (zeroUpTo(7) && g7 === 1) return 'a loopback address';
  // ::ffff:a.b.c.d and ::a.b.c.d carry an IPv4 address a dual-stack socket would dial.
  if (zeroUpTo(5) && (g5 === 0xffff || g5 === 0)) return 'an IPv4-mapped or -compatible address';
  if (g0 === 0x64 && g1 === 0xff9b) return 'a NAT64 address';
  if ((g0 & 0xfe00) === 0xfc00) return 'a unique local (private) address';
  if ((g0 & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((g0 & 0xff00) === 0xff00) return 'a multicast address';
  if (g0 === 0x2001 && g1 === 0xdb8) return 'a documentation address';
  if (g0 === 0x2002) return 'a 6to4 address';
  if ((g0 & 0xe000) !== 0x2000) return 'an address outside global unicast (2000::/3)';
  void g6;
  return null;
}

/**
 * Why `host` (a URL's hostname: an IPv4 literal, a bracketed IPv6 literal, or a name) must not be dialed, or
 * null when it is a public unicast literal or a name (which the connect-time guard checks once resolved).
 * `localhost` and names under `.localhost` are refused here: they resolve to loopback by definition.
 */
export function hostRefusal(host: string): string | null {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return 'a loopback name';
  if (name.startsWith('[') && name.endsWith(']')) {
    const groups = parseIpv6(name.slice(1, -1));
    return groups === null ? 'an IPv6 literal that does not parse' : ipv6Refusal(groups);
  }
  const v4 = parseIpv4(name);
  return v4 === null ? null : ipv4Refusal(v4);
}
