/**
 * The peer handshake: Noise_XXpsk3_25519_ChaChaPoly_SHA256, after the Noise Protocol Framework,
 * revision 34 (https://noiseprotocol.org/noise.html). Plain Noise_XX is here only so that more
 * published test vectors can check the same code.
 *
 *   -> e                  initiator: a fresh ephemeral key, in the clear
 *   <- e, ee, s, es       responder: its ephemeral key, then its static key encrypted
 *   -> s, se, psk         initiator: its static key encrypted, then the pre-shared key mixed in
 *
 * What it gives: mutual authentication (each side proves it holds the static secret key it
 * sent, through es and se), forward secrecy (every key depends on the ephemeral-ephemeral DH),
 * and psk binding (a side without the same 32-byte psk fails at the third message).
 * What it does not give: the first payload is readable by anyone (its key comes from public
 * values only), and the initiator learns that the responder holds the psk only when the first
 * transport message from the responder decrypts; treat the peer as psk-verified from then on.
 *
 * Split() ends the handshake with one key per direction; encryptAt/decryptAt use them with an
 * explicit counter so the layer above can put the counter on the wire. Framing, transport and
 * the meaning of payloads belong to that layer. Any failure ends the handshake for good.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { agree, concatBytes, generateAgreementKeyPair, type KeyPair } from './index';

export const NOISE_XXPSK3 = 'Noise_XXpsk3_25519_ChaChaPoly_SHA256';
export const NOISE_XX = 'Noise_XX_25519_ChaChaPoly_SHA256';
/** The spec's limit on any Noise message, handshake or transport. */
export const MAX_NOISE_MESSAGE_BYTES = 65535;

const HASH_BYTES = 32;
const KEY_BYTES = 32;
const TAG_BYTES = 16;
/** 2^64-1 is reserved by the spec (for rekey), so counters stay below it. */
const COUNTER_LIMIT = 2n ** 64n - 1n;

type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'psk';
const PATTERNS: Record<NoiseOptions['protocol'], readonly (readonly Token[])[]> = {
	[NOISE_XX]: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']],
	[NOISE_XXPSK3]: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se', 'psk']]
};

export class NoiseError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'NoiseError';
	}
}

export interface NoiseOptions {
	protocol: typeof NOISE_XXPSK3 | typeof NOISE_XX;
	initiator: boolean;
	staticKeys: KeyPair;
	/** 32 bytes; required for XXpsk3, refused for XX. */
	psk?: Uint8Array;
	prologue?: Uint8Array;
	/** Only for test vectors; otherwise a fresh key pair is generated. */
	ephemeralKeys?: KeyPair;
}

function requireLength(bytes: Uint8Array | undefined, length: number, what: string): void {
	if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
		throw new NoiseError(`${what} must be ${length} bytes`);
	}
}

function requireKeyPair(keys: KeyPair | undefined, what: string): void {
	requireLength(keys?.publicKey, KEY_BYTES, `the ${what} public key`);
	requireLength(keys?.secretKey, KEY_BYTES, `the ${what} secret key`);
}

/** ChaChaPoly's Noise nonce: 32 bits of zeros, then the 64-bit counter little-endian. */
function nonceFor(counter: bigint | number): Uint8Array {
	const whole = typeof counter === 'bigint' || Number.isSafeInteger(counter);
	const value = whole ? BigInt(counter) : -1n;
	if (value < 0n || value >= COUNTER_LIMIT) throw new NoiseError('the counter is out of range');
	const nonce = new Uint8Array(12);
	new DataView(nonce.buffer).setBigUint64(4, value, true);
	return nonce;
}

/**
 * Seals with a transport key at an explicit counter. Unlike a Noise transport message, what Samen
 * seals this way is not limited to 65,535 bytes: the data channel's own framing carries it (up to
 * 64 MiB, ../transport/framing.ts), and ChaCha20-Poly1305 allows far more under one nonce.
 */
export function encryptAt(
	key: Uint8Array,
	counter: bigint | number,
	associated: Uint8Array,
	plaintext: Uint8Array
): Uint8Array {
	requireLength(key, KEY_BYTES, 'a key');
	return chacha20poly1305(key, nonceFor(counter), associated).encrypt(plaintext);
}

/** The inverse of encryptAt; throws NoiseError for a wrong key or counter, or any altered byte. */
export function decryptAt(
	key: Uint8Array,
	counter: bigint | number,
	associated: Uint8Array,
	ciphertext: Uint8Array
): Uint8Array {
	requireLength(key, KEY_BYTES, 'a key');
	if (ciphertext.length < TAG_BYTES) throw new NoiseError('the message is too short');
	const nonce = nonceFor(counter);
	try {
		return chacha20poly1305(key, nonce, associated).decrypt(ciphertext);
	} catch {
		throw new NoiseError('the message failed authentication');
	}
}

/** HKDF as the spec defines it: HMAC-SHA256 keyed by the chaining key, three outputs. */
function noiseHkdf(chainingKey: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
	const tempKey = hmac(sha256, chainingKey, input);
	const output1 = hmac(sha256, tempKey, Uint8Array.of(1));
	const output2 = hmac(sha256, tempKey, concatBytes(output1, Uint8Array.of(2)));
	const output3 = hmac(sha256, tempKey, concatBytes(output2, Uint8Array.of(3)));
	return [output1, output2, output3];
}

/** The spec's SymmetricState with its CipherState (key and nonce) folded in. */
class SymmetricState {
	chainingKey: Uint8Array;
	hash: Uint8Array;
	private key: Uint8Array | undefined;
	private nonce = 0n;

	constructor(protocolName: string) {
		const name = new TextEncoder().encode(protocolName);
		const padding = new Uint8Array(Math.max(0, HASH_BYTES - name.length));
		this.hash = name.length <= HASH_BYTES ? concatBytes(name, padding) : sha256(name);
		this.chainingKey = this.hash;
	}

	get hasKey(): boolean {
		return this.key !== undefined;
	}

	mixHash(data: Uint8Array): void {
		this.hash = sha256(concatBytes(this.hash, data));
	}

	mixKey(input: Uint8Array): void {
		[this.chainingKey, this.key] = noiseHkdf(this.chainingKey, input);
		this.nonce = 0n;
	}

	mixKeyAndHash(input: Uint8Array): void {
		let hashInput: Uint8Array;
		[this.chainingKey, hashInput, this.key] = noiseHkdf(this.chainingKey, input);
		this.mixHash(hashInput);
		this.nonce = 0n;
	}

	encryptAndHash(plaintext: Uint8Array): Uint8Array {
		const ciphertext = this.key ? encryptAt(this.key, this.nonce++, this.hash, plaintext) : plaintext;
		this.mixHash(ciphertext);
		return ciphertext;
	}

	decryptAndHash(ciphertext: Uint8Array): Uint8Array {
		const plaintext = this.key ? decryptAt(this.key, this.nonce, this.hash, ciphertext) : ciphertext.slice();
		if (this.key) this.nonce++;
		this.mixHash(ciphertext);
		return plaintext;
	}
}

function present<T>(value: T | undefined, what: string): T {
	if (value === undefined) throw new NoiseError(`${what} is missing`);
	return value;
}

export class NoiseHandshake {
	private readonly symmetric: SymmetricState;
	private readonly pattern: readonly (readonly Token[])[];
	private readonly initiator: boolean;
	private readonly staticKeys: KeyPair;
	private readonly psk: Uint8Array | undefined;
	private readonly presetEphemeral: KeyPair | undefined;
	private ephemeral: KeyPair | undefined;
	private remoteEphemeral: Uint8Array | undefined;
	private remoteStatic: Uint8Array | undefined;
	private messageIndex = 0;
	private failed = false;

	constructor(options: NoiseOptions) {
		const pattern = PATTERNS[options.protocol];
		if (!pattern) throw new NoiseError(`unsupported protocol ${String(options.protocol)}`);
		requireKeyPair(options.staticKeys, 'static');
		if (options.ephemeralKeys) requireKeyPair(options.ephemeralKeys, 'ephemeral');
		if (options.protocol === NOISE_XXPSK3) requireLength(options.psk, KEY_BYTES, 'the psk');
		else if (options.psk !== undefined) throw new NoiseError(`${options.protocol} takes no psk`);
		this.pattern = pattern;
		this.initiator = options.initiator;
		this.staticKeys = options.staticKeys;
		this.psk = options.psk;
		this.presetEphemeral = options.ephemeralKeys;
		this.symmetric = new SymmetricState(options.protocol);
		this.symmetric.mixHash(options.prologue ?? new Uint8Array(0));
	}

	get complete(): boolean {
		return !this.failed && this.messageIndex === this.pattern.length;
	}

	/** The peer's static public key once its message carrying it has been read in full. */
	get remoteStaticKey(): Uint8Array | undefined {
		return this.failed ? undefined : this.remoteStatic;
	}

	/** h: after completion, a value both sides share and nobody else can steer (channel binding). */
	get handshakeHash(): Uint8Array {
		return this.symmetric.hash.slice();
	}

	/** Writes the next handshake message carrying `payload`; throws NoiseError when it is not our turn. */
	writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
		return this.step(true, (tokens) => {
			const parts: Uint8Array[] = [];
			for (const token of tokens) {
				if (token === 'e') {
					this.ephemeral = this.presetEphemeral ?? generateAgreementKeyPair();
					parts.push(this.ephemeral.publicKey);
					this.mixEphemeral(this.ephemeral.publicKey);
				} else if (token === 's') {
					parts.push(this.symmetric.encryptAndHash(this.staticKeys.publicKey));
				} else {
					this.mix(token);
				}
			}
			parts.push(this.symmetric.encryptAndHash(payload));
			const message = concatBytes(...parts);
			if (message.length > MAX_NOISE_MESSAGE_BYTES) throw new NoiseError('the handshake message is too long');
			return message;
		});
	}

	/** Reads the peer's next handshake message and returns its payload; throws NoiseError on any failure. */
	readMessage(message: Uint8Array): Uint8Array {
		return this.step(false, (tokens) => {
			if (!(message instanceof Uint8Array)) throw new NoiseError('a handshake message must be bytes');
			if (message.length > MAX_NOISE_MESSAGE_BYTES) throw new NoiseError('the handshake message is too long');
			let offset = 0;
			const take = (length: number): Uint8Array => {
				if (offset + length > message.length) throw new NoiseError('the handshake message is too short');
				offset += length;
				return message.slice(offset - length, offset);
			};
			for (const token of tokens) {
				if (token === 'e') {
					this.remoteEphemeral = take(KEY_BYTES);
					this.mixEphemeral(this.remoteEphemeral);
				} else if (token === 's') {
					const sealedKey = take(KEY_BYTES + (this.symmetric.hasKey ? TAG_BYTES : 0));
					this.remoteStatic = this.symmetric.decryptAndHash(sealedKey);
				} else {
					this.mix(token);
				}
			}
			return this.symmetric.decryptAndHash(message.subarray(offset));
		});
	}

	/** After completion: the two transport keys from Split(), oriented for this side. */
	transportKeys(): { sendKey: Uint8Array; receiveKey: Uint8Array } {
		if (!this.complete) throw new NoiseError('the handshake is not complete');
		const [initiatorKey, responderKey] = noiseHkdf(this.symmetric.chainingKey, new Uint8Array(0));
		return this.initiator
			? { sendKey: initiatorKey, receiveKey: responderKey }
			: { sendKey: responderKey, receiveKey: initiatorKey };
	}

	/** Runs one message's tokens; any error ends the handshake, since its state is then half-mixed. */
	private step(writing: boolean, run: (tokens: readonly Token[]) => Uint8Array): Uint8Array {
		if (this.failed) throw new NoiseError('the handshake has already failed');
		try {
			const tokens = this.pattern[this.messageIndex];
			if (!tokens) throw new NoiseError('the handshake is already complete');
			const ourTurnToWrite = (this.messageIndex % 2 === 0) === this.initiator;
			if (writing !== ourTurnToWrite) {
				throw new NoiseError(`it is not our turn to ${writing ? 'write' : 'read'} a handshake message`);
			}
			const result = run(tokens);
			this.messageIndex++;
			return result;
		} catch (error) {
			this.failed = true;
			if (error instanceof NoiseError) throw error;
			throw new NoiseError(`the handshake failed: ${error instanceof Error ? error.message : String(error)}`);
		}
	}

	/** With a psk, the spec has every ephemeral key mixed into the key too, not only the hash. */
	private mixEphemeral(publicKey: Uint8Array): void {
		this.symmetric.mixHash(publicKey);
		if (this.psk) this.symmetric.mixKey(publicKey);
	}

	private mix(token: 'ee' | 'es' | 'se' | 'psk'): void {
		if (token === 'psk') return this.symmetric.mixKeyAndHash(present(this.psk, 'the psk'));
		// es is always initiator-ephemeral with responder-static; se the other way round.
		const ourEphemeral = token === 'ee' || (token === 'es') === this.initiator;
		const theirEphemeral = token === 'ee' || (token === 'se') === this.initiator;
		this.dh(
			ourEphemeral ? present(this.ephemeral, 'our ephemeral key') : this.staticKeys,
			theirEphemeral
				? present(this.remoteEphemeral, "the peer's ephemeral key")
				: present(this.remoteStatic, "the peer's static key")
		);
	}

	private dh(local: KeyPair, remotePublicKey: Uint8Array): void {
		// agree() throws for a low-order key (noble refuses the all-zero result) and step() turns
		// that into a NoiseError; checked here too because the handshake's security rests on it.
		const shared = agree(local.secretKey, remotePublicKey);
		if (shared.every((byte) => byte === 0)) throw new NoiseError('the peer sent a low-order key');
		this.symmetric.mixKey(shared);
	}
}
