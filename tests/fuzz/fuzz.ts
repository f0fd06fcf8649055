/**
 * What the fuzz tests share: a seeded random source, byte and string mutators, and a runner that
 * feeds a parser many inputs and names the seed, the case and the input when one misbehaves.
 *
 * Every run starts from FUZZ_SEED (an environment variable, decimal or 0x-hex), or from a fixed
 * seed per suite, so a failure replays with `FUZZ_SEED=<seed> npx vitest run tests/fuzz/<file>`;
 * the platform's random source is seeded too (seedPlatformRandomness), so keys, seals and epoch
 * secrets come out the same. The failure message also carries the input itself, in hex.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { vi } from 'vitest';
import { toHex } from '../../src/lib/crypto';

export interface Random {
	readonly seed: number;
	/** A uniform 32-bit unsigned integer. */
	uint32(): number;
	/** An integer in [0, n). */
	below(n: number): number;
	/** An integer in [min, max]. */
	between(min: number, max: number): number;
	chance(probability: number): boolean;
	bytes(length: number): Uint8Array;
	pick<T>(items: readonly T[]): T;
}

/** sfc32, seeded through splitmix32: fast, and the same sequence on every platform. */
export function seededRandom(seed: number): Random {
	let mix = seed >>> 0;
	const splitmix = () => {
		mix = (mix + 0x9e3779b9) >>> 0;
		let z = mix;
		z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
		z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
		return (z ^ (z >>> 16)) >>> 0;
	};
	let a = splitmix();
	let b = splitmix();
	let c = splitmix();
	let d = splitmix();
	const uint32 = () => {
		const t = (((a + b) >>> 0) + d) >>> 0;
		d = (d + 1) >>> 0;
		a = b ^ (b >>> 9);
		b = (c + (c << 3)) >>> 0;
		c = ((c << 21) | (c >>> 11)) >>> 0;
		c = (c + t) >>> 0;
		return t;
	};
	const below = (n: number) => Math.floor((uint32() / 2 ** 32) * n);
	return {
		seed,
		uint32,
		below,
		between: (min, max) => min + below(max - min + 1),
		chance: (probability) => uint32() / 2 ** 32 < probability,
		bytes: (length) => {
			const out = new Uint8Array(length);
			for (let i = 0; i < length; i += 4) {
				const word = uint32();
				out[i] = word;
				if (i + 1 < length) out[i + 1] = word >>> 8;
				if (i + 2 < length) out[i + 2] = word >>> 16;
				if (i + 3 < length) out[i + 3] = word >>> 24;
			}
			return out;
		},
		pick: (items) => items[below(items.length)]!
	};
}

/**
 * Makes the platform's random source (crypto.getRandomValues, behind every key, nonce and epoch
 * secret the code under test makes) draw from `random`, so that a seed replays a whole run, real
 * keys and seals included. Undone by vi.restoreAllMocks().
 */
export function seedPlatformRandomness(random: Random): void {
	vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
		if (array) new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(random.bytes(array.byteLength));
		return array;
	});
}

/** FUZZ_SEED when set, else the suite's own fixed seed. */
export function fuzzSeed(fallback: number): number {
	const given = process.env.FUZZ_SEED;
	if (!given) return fallback;
	const seed = Number(given);
	if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not ${given}`);
	return seed >>> 0;
}

/** Values at the edges of what lengths, counts and flags can hold. */
const EDGE_BYTES = [0x00, 0x01, 0x02, 0x03, 0x07, 0x08, 0x20, 0x40, 0x7f, 0x80, 0x81, 0xfe, 0xff];
const EDGE_NUMBERS = [0, 1, 2, 5, 6, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 4096, 16_383, 16_384, 65_535, 100_001, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1];

/** lib0's variable-length unsigned integer, up to 2^53 − 1. */
export function varUint(value: number): Uint8Array {
	const out: number[] = [];
	let rest = value;
	while (rest > 0x7f) {
		out.push(0x80 | rest % 0x80);
		rest = Math.floor(rest / 0x80);
	}
	out.push(rest);
	return Uint8Array.from(out);
}

function splice(input: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
	const out = new Uint8Array(input.length - remove + insert.length);
	out.set(input.subarray(0, at), 0);
	out.set(insert, at);
	out.set(input.subarray(at + remove), at + insert.length);
	return out;
}

/**
 * One to four edits of `input`: bit flips, edge bytes, edge numbers written as varuints over a
 * length or count, insertions, deletions, truncation, repeats, and pieces of other `corpus` inputs.
 */
export function mutate(random: Random, input: Uint8Array, corpus: readonly Uint8Array[] = []): Uint8Array {
	let out: Uint8Array = input.slice();
	const edits = random.between(1, 4);
	for (let edit = 0; edit < edits; edit++) {
		const at = random.below(out.length + 1);
		switch (random.below(10)) {
			case 0:
				if (out.length > 0) out[Math.min(at, out.length - 1)]! ^= 1 << random.below(8);
				break;
			case 1:
				if (out.length > 0) out[Math.min(at, out.length - 1)] = random.pick(EDGE_BYTES);
				break;
			case 2:
				out = splice(out, at, Math.min(random.below(4), out.length - at), varUint(random.pick(EDGE_NUMBERS)));
				break;
			case 3:
				out = splice(out, at, 0, random.bytes(random.between(1, 8)));
				break;
			case 4:
				out = splice(out, at, Math.min(random.between(1, 16), out.length - at), new Uint8Array(0));
				break;
			case 5:
				out = out.slice(0, random.below(out.length + 1));
				break;
			case 6: {
				const from = random.below(out.length + 1);
				const piece = out.slice(from, from + random.between(1, 32));
				out = splice(out, at, 0, piece);
				break;
			}
			case 7:
				if (corpus.length > 0) {
					const other = random.pick(corpus);
					const from = random.below(other.length + 1);
					out = splice(out, at, 0, other.subarray(from, from + random.between(1, 64)));
				}
				break;
			case 8:
				if (out.length > 0) {
					const byte = Math.min(at, out.length - 1);
					out[byte] = (out[byte]! + random.pick([-1, 1, -2, 2, 64, -64])) & 0xff;
				}
				break;
			default:
				out = splice(out, at, 0, random.bytes(random.between(1, 3)).fill(random.pick(EDGE_BYTES)));
				break;
		}
	}
	return out;
}

/** Random bytes, mostly short, sometimes long; `lead`, when given, is tried as the first byte often. */
export function randomBytesInput(random: Random, maxLength: number, lead: readonly number[] = []): Uint8Array {
	const length = random.chance(0.8) ? random.below(Math.min(maxLength, 64) + 1) : random.below(maxLength + 1);
	const out = random.bytes(length);
	if (length > 0 && lead.length > 0 && random.chance(0.5)) out[0] = random.pick(lead);
	return out;
}

const STRING_PIECES = ['#', '.', '/', ':', '=', '+', '-', '_', ' ', '\n', '\t', '%', '?', '\u0000', 'é', '😀', '\ud800', 'samen2.', 'samen1.', 'https://samen.example/settings/link#'];
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** One to four edits of a string: characters and known pieces inserted, removed, repeated, cut. */
export function mutateString(random: Random, input: string): string {
	let out = input;
	const edits = random.between(1, 4);
	for (let edit = 0; edit < edits; edit++) {
		const at = random.below(out.length + 1);
		switch (random.below(6)) {
			case 0:
				out = out.slice(0, at) + BASE64URL[random.below(BASE64URL.length)] + out.slice(at + 1);
				break;
			case 1:
				out = out.slice(0, at) + random.pick(STRING_PIECES) + out.slice(at);
				break;
			case 2:
				out = out.slice(0, at) + out.slice(at + random.between(1, 8));
				break;
			case 3:
				out = out.slice(0, random.below(out.length + 1));
				break;
			case 4:
				out = out.slice(0, at) + out.slice(at, at + random.between(1, 16)) + out.slice(at);
				break;
			default:
				out = out.slice(0, at) + String.fromCharCode(random.below(0x10000)) + out.slice(at);
				break;
		}
	}
	return out;
}

export function randomString(random: Random, maxLength: number): string {
	let out = '';
	const length = random.below(maxLength + 1);
	while (out.length < length) {
		out += random.chance(0.7) ? BASE64URL[random.below(BASE64URL.length)] : random.pick(STRING_PIECES);
	}
	return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

/** How an input is shown in a failure message: hex for bytes (cut at 4 KiB), JSON for strings. */
export function describeInput(input: unknown): string {
	if (input instanceof Uint8Array) {
		const shown = toHex(input.subarray(0, 4096));
		return `${input.length} bytes: ${shown}${input.length > 4096 ? '…' : ''}`;
	}
	if (typeof input === 'string') return JSON.stringify(input);
	return String(input);
}

/** Thrown when a parser misbehaves; its message tells how to replay the case. */
export class FuzzFailure extends Error {
	constructor(suite: string, seed: number, index: number, input: unknown, problem: string, cause?: unknown) {
		const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : cause === undefined ? '' : String(cause);
		super(
			`${suite}: case ${index} with FUZZ_SEED=${seed} (0x${seed.toString(16)}): ${problem}${detail ? ` (${detail})` : ''}\n` +
				`input: ${describeInput(input)}`,
			{ cause }
		);
		this.name = 'FuzzFailure';
	}
}

type ErrorClass = abstract new (...args: never[]) => Error;

export interface FuzzReport {
	inputs: number;
	/** Inputs the parser returned a value for. */
	accepted: number;
	/** Inputs it refused with one of its own errors. */
	refused: number;
	/** The slowest single call, in milliseconds. */
	slowestMs: number;
}

export interface FuzzOptions<T> {
	suite: string;
	seed: number;
	inputs: Iterable<T>;
	/** Calls the parser; returns what it returned. */
	run: (input: T) => unknown;
	/** The error classes the parser may throw; anything else is a failure. Empty: it may not throw. */
	allowed: readonly ErrorClass[];
	/** Checks a returned value; throws (any error) when it breaks what the parser promises. */
	check?: (value: unknown, input: T) => void;
	/** A single call slower than this counts as a hang. */
	maxCallMs?: number;
	/** What of an input a failure message shows (bytes or a string); the input itself by default. */
	show?: (input: T) => unknown;
}

/** Feeds every input to the parser; throws a FuzzFailure naming the seed at the first misbehaviour. */
export function fuzz<T>(options: FuzzOptions<T>): FuzzReport {
	const runner = new Runner(options);
	for (const input of options.inputs) {
		const started = runner.start();
		let value: unknown;
		try {
			value = options.run(input);
		} catch (error) {
			runner.threw(input, started, error);
			continue;
		}
		runner.returned(input, started, value);
	}
	return runner.report;
}

/** As `fuzz`, for a parser that is async or that needs awaiting between inputs. */
export async function fuzzAsync<T>(options: Omit<FuzzOptions<T>, 'run'> & { run: (input: T) => Promise<unknown> }): Promise<FuzzReport> {
	const runner = new Runner(options);
	for (const input of options.inputs) {
		const started = runner.start();
		let value: unknown;
		try {
			value = await options.run(input);
		} catch (error) {
			runner.threw(input, started, error);
			continue;
		}
		runner.returned(input, started, value);
	}
	return runner.report;
}

class Runner<T> {
	readonly report: FuzzReport = { inputs: 0, accepted: 0, refused: 0, slowestMs: 0 };
	private readonly maxCallMs: number;
	private readonly show: (input: T) => unknown;

	constructor(private readonly options: Omit<FuzzOptions<T>, 'run'>) {
		this.maxCallMs = options.maxCallMs ?? 1000;
		this.show = options.show ?? ((input) => input);
	}

	start(): number {
		this.report.inputs++;
		return performance.now();
	}

	threw(input: T, started: number, error: unknown): void {
		const { allowed } = this.options;
		if (!allowed.some((kind) => error instanceof kind)) {
			this.fail(input, allowed.length === 0 ? 'threw' : `threw other than ${allowed.map((kind) => kind.name).join(' or ')}`, error);
		}
		this.report.refused++;
		this.timed(input, started);
	}

	returned(input: T, started: number, value: unknown): void {
		this.timed(input, started);
		this.report.accepted++;
		if (!this.options.check) return;
		try {
			this.options.check(value, input);
		} catch (error) {
			this.fail(input, 'returned a value that breaks its contract', error);
		}
	}

	private timed(input: T, started: number): void {
		const took = performance.now() - started;
		this.report.slowestMs = Math.max(this.report.slowestMs, took);
		if (took > this.maxCallMs) this.fail(input, `took ${Math.round(took)} ms`);
	}

	private fail(input: T, problem: string, cause?: unknown): never {
		throw new FuzzFailure(this.options.suite, this.options.seed, this.report.inputs - 1, this.show(input), problem, cause);
	}
}

/** Inputs from weighted generators: each input comes from one generator picked by weight. */
export function* mixed<T>(random: Random, count: number, generators: readonly [weight: number, make: (random: Random) => T][]): Generator<T> {
	const total = generators.reduce((sum, [weight]) => sum + weight, 0);
	for (let i = 0; i < count; i++) {
		let roll = random.below(total);
		for (const [weight, make] of generators) {
			if (roll < weight) {
				yield make(random);
				break;
			}
			roll -= weight;
		}
	}
}

/** Heap and array buffers in use after a full collection: what is still held, not what waits to be collected. */
export function heapHeld(): number {
	setFlagsFromString('--expose-gc');
	(runInNewContext('gc') as () => void)();
	const { heapUsed, arrayBuffers } = process.memoryUsage();
	return heapUsed + arrayBuffers;
}

export const MiB = 1024 * 1024;

/** One line per fuzzed parser in the test output, so a run shows what it covered. */
export function logReport(name: string, report: FuzzReport, extra = ''): void {
	console.log(
		`fuzz ${name}: ${report.inputs} inputs, ${report.accepted} accepted, ${report.refused} refused, slowest ${report.slowestMs.toFixed(1)} ms${extra ? `, ${extra}` : ''}`
	);
}
