// IPv4 addresses and CIDR blocks as numbers: parsing, containment and the per-run /30 arithmetic the egress
// network needs. No I/O.

export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  /** Prefix length, 0–32. */
  bits: number;
}

/** Parses `a.b.c.d`; throws a message naming the text when it is not a dotted quad. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new Error(`${JSON.stringify(text)} is not an IPv4 address`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses `a.b.c.d/n` (a bare address is a /32); the base must be the block's first address. */
export function parseCidr(text: string): Ipv4Cidr {
  const [address = '', bitsText = '32', extra] = text.split('/');
  const bits = Number(bitsText);
  if (extra !== undefined || !/^\d{1,2}$/.test(bitsText) || bits > 32) {
    throw new Error(`${JSON.stringify(text)} is not an IPv4 CIDR block`);
  }
  const base = parseIpv4(address);
  if (base % blockSize(bits) !== 0) {
    throw new Error(`${JSON.stringify(text)}: the address is not the first of its /${bits}`);
  }
  return { base, bits };
}

export function formatCidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.bits}`;
}

export function blockSize(bits: number): number {
  return 2 ** (32 - bits);
}

export function cidrContains(cidr: Ipv4Cidr, address: number): boolean {
  return address >= cidr.base && address < cidr.base + blockSize(cidr.bits);
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return cidrContains(a, b.base) || cidrContains(b, a.base);
}
