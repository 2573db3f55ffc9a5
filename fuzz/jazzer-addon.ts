// Jazzer.js 4.0.0's native fuzzer (libFuzzer in a Node addon) ships one prebuilt binary per platform,
// built against glibc 2.38 and GCC 13's libstdc++. On an older system (Debian 12: glibc 2.36, GCC 12)
// it refuses to load, for three symbols only: `__isoc23_strtol` and `__isoc23_strtoul` (strtol and
// strtoul with C23's "0b" prefix, which libFuzzer's flag parsing never sees) and
// `_ZSt21ios_base_library_initv` (a symbol GCC 13's <iostream> names so that the newer library is
// linked; nothing calls it). This makes a patched copy of the binary, outside node_modules, that asks
// for the older names instead, and the fuzzing child loads it in place of the original.
// Nothing is patched when the original loads.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The environment variable that hands the patched binary's path to the fuzzing child. */
export const PATCHED_ADDON_ENV = 'DESTINATIONS_FUZZ_ADDON';

const require = createRequire(import.meta.url);

/** Where the prebuilt binary of this platform is (addon.js's own rule). */
export function prebuiltAddonPath(): string {
  const fuzzerPackage = dirname(require.resolve('@jazzer.js/fuzzer/package.json'));
  return join(fuzzerPackage, 'prebuilds', `fuzzer-${process.platform}-${process.arch}.node`);
}

/** The symbols renamed to the name they end in (`__isoc23_strtol` → `strtol`), unversioned. */
const C23_PREFIX = '__isoc23_';
const RENAMED = new Set([`${C23_PREFIX}strtol`, `${C23_PREFIX}strtoul`]);
/** Only named, never called: made a weak reference, so leaving it unresolved is allowed. */
const WEAKENED = new Set(['_ZSt21ios_base_library_initv']);
/** Versions the binary asks for that older libraries lack: made weak (not needed) once no symbol uses them. */
const NEWER_VERSIONS = new Set(['GLIBC_2.38', 'GLIBCXX_3.4.32']);

const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const VER_NDX_GLOBAL = 1;
const VER_FLG_WEAK = 2;
const STB_WEAK = 2;

interface Section {
  type: number;
  offset: number;
  size: number;
  link: number;
}

/**
 * Rewrites an x86-64 ELF shared object in place: the renamed symbols point at the tail of their own
 * name (no string is written), the weakened one is weak, and each of the symbols drops its version
 * (index 1: any definition); the newer versions become weak needs. Returns what it changed.
 */
export function patchElf(image: Buffer): string[] {
  if (image.readUInt32BE(0) !== 0x7f454c46 || image[4] !== 2 || image[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const sectionsAt = Number(image.readBigUInt64LE(0x28));
  const entrySize = image.readUInt16LE(0x3a);
  const count = image.readUInt16LE(0x3c);
  const sections: Section[] = [];
  for (let index = 0; index < count; index++) {
    const at = sectionsAt + index * entrySize;
    sections.push({ type: image.readUInt32LE(at + 4), offset: Number(image.readBigUInt64LE(at + 0x18)), size: Number(image.readBigUInt64LE(at + 0x20)), link: image.readUInt32LE(at + 0x28) });
  }
  const symbols = sections.find((section) => section.type === SHT_DYNSYM);
  const versions = sections.find((section) => section.type === SHT_GNU_VERSYM);
  const needs = sections.find((section) => section.type === SHT_GNU_VERNEED);
  if (!symbols || !versions || !needs) throw new Error('no dynamic symbols or symbol versions');
  const strings = sections[symbols.link];
  const text = (offset: number): string => {
    const start = strings.offset + offset;
    return image.toString('latin1', start, image.indexOf(0, start));
  };
  const changed: string[] = [];
  for (let index = 0; index < symbols.size / 24; index++) {
    const at = symbols.offset + index * 24;
    const name = text(image.readUInt32LE(at));
    if (RENAMED.has(name)) {
      image.writeUInt32LE(image.readUInt32LE(at) + C23_PREFIX.length, at);
      changed.push(`${name} → ${name.slice(C23_PREFIX.length)}`);
    } else if (WEAKENED.has(name)) {
      image[at + 4] = (STB_WEAK << 4) | (image[at + 4] & 0xf);
      changed.push(`${name} weak`);
    } else {
      continue;
    }
    image.writeUInt16LE(VER_NDX_GLOBAL, versions.offset + index * 2);
  }
  for (let need = needs.offset; ; ) {
    const auxCount = image.readUInt16LE(need + 2);
    for (let aux = need + image.readUInt32LE(need + 8), seen = 0; seen < auxCount; seen++, aux += image.readUInt32LE(aux + 12)) {
      const version = text(image.readUInt32LE(aux + 8));
      if (!NEWER_VERSIONS.has(version)) continue;
      image.writeUInt16LE(image.readUInt16LE(aux + 4) | VER_FLG_WEAK, aux + 4);
      changed.push(`${version} weak`);
    }
    const next = image.readUInt32LE(need + 12);
    if (next === 0) break;
    need += next;
  }
  return changed;
}

/** Why the prebuilt binary does not load here, or undefined when it does. */
export function addonLoadError(path = prebuiltAddonPath()): Error | undefined {
  try {
    require(path);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/**
 * The binary the fuzzing child should load: undefined when the prebuilt one loads as it is, else a
 * patched copy under `cacheDir` (made once per binary). Throws when it fails for another reason.
 */
export function compatibleAddon(cacheDir: string): string | undefined {
  const original = prebuiltAddonPath();
  const error = addonLoadError(original);
  if (!error) return undefined;
  if (!/GLIBC_2\.38|GLIBCXX_3\.4\.32/.test(error.message)) throw error;
  const image = readFileSync(original);
  const patched = join(cacheDir, `fuzzer-${createHash('sha256').update(image).digest('hex').slice(0, 16)}.node`);
  if (!existsSync(patched)) {
    const copy = Buffer.from(image);
    patchElf(copy);
    mkdirSync(cacheDir, { recursive: true });
    // Written aside and renamed: two runners starting at once (the runner's tests do) must never
    // load a copy the other is still writing.
    const partial = `${patched}.${process.pid}.partial`;
    writeFileSync(partial, copy);
    renameSync(partial, patched);
  }
  const still = addonLoadError(patched);
  if (still) throw new Error(`the patched copy of Jazzer.js's fuzzer does not load either: ${still.message}`);
  return patched;
}
