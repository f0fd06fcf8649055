/**
 * Every cryptographic operation Samen performs, as a handful of named operations over noble.
 * Nothing else in the code base imports noble: a reviewer reads this file to know what is used.
 *
 * - seal/open: XChaCha20-Poly1305 with a random 24-byte nonce prepended to the ciphertext.
 * - deriveKey: HKDF-SHA256; every use names its purpose in `info` so keys never cross purposes.
 * - X25519 for key agreement (link handshake, peer sessions through ./noise.ts, sealed boxes).
 * - Ed25519 for signatures: a device signs with its own key, the primary's key signs the device list.
 * - sealTo/openSealed: a value sealed to one device's X25519 public key (an ephemeral key pair,
 *   X25519, HKDF, XChaCha20-Poly1305), so only that device can open it.
 * - HMAC-SHA256 for proofs of knowledge of a shared secret.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes as nobleRandomBytes } from '@noble/ciphers/utils.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

export class CryptoError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'CryptoError';
	}
}

const utf8 = new TextEncoder();

export function randomBytes(length: number): Uint8Array {
	return nobleRandomBytes(length);
}

function requireKey(key: Uint8Array): void {
	if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
		throw new CryptoError(`a key must be ${KEY_BYTES} bytes`);
	}
}

/** Encrypts and authenticates `plaintext`; `associated` is authenticated but not encrypted. */
export function seal(key: Uint8Array, plaintext: Uint8Array, associated?: Uint8Array): Uint8Array {
	requireKey(key);
	const nonce = randomBytes(NONCE_BYTES);
	const ciphertext = xchacha20poly1305(key, nonce, associated).encrypt(plaintext);
	const sealed = new Uint8Array(NONCE_BYTES + ciphertext.length);
	sealed.set(nonce, 0);
	sealed.set(ciphertext, NONCE_BYTES);
	return sealed;
}

/** The inverse of `seal`; throws CryptoError on a wrong key, a tampered byte or a short input. */
export function open(key: Uint8Array, sealed: Uint8Array, associated?: Uint8Array): Uint8Array {
	requireKey(key);
	if (!(sealed instanceof Uint8Array) || sealed.length < SEAL_OVERHEAD) {
		throw new CryptoError('sealed data is too short');
	}
	const nonce = sealed.subarray(0, NONCE_BYTES);
	try {
		return xchacha20poly1305(key, nonce, associated).decrypt(sealed.subarray(NONCE_BYTES));
	} catch {
		throw new CryptoError('sealed data failed authentication');
	}
}

/** HKDF-SHA256. `purpose` is a fixed, versioned label such as "samen/v1/sync-key". */
export function deriveKey(
	secret: Uint8Array,
	purpose: string,
	salt: Uint8Array = new Uint8Array(0),
	length = KEY_BYTES
): Uint8Array {
	return hkdf(sha256, secret, salt, utf8.encode(purpose), length);
}

export function mac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
	return hmac(sha256, key, concatBytes(...parts));
}

export function hash(...parts: Uint8Array[]): Uint8Array {
	return sha256(concatBytes(...parts));
}

export interface KeyPair {
	publicKey: Uint8Array;
	secretKey: Uint8Array;
}

export function generateAgreementKeyPair(): KeyPair {
	const secretKey = x25519.utils.randomSecretKey();
	return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** X25519; throws CryptoError for a malformed or low-order public key. */
export function agree(secretKey: Uint8Array, theirPublicKey: Uint8Array): Uint8Array {
	if (theirPublicKey.length !== KEY_BYTES) throw new CryptoError('a public key must be 32 bytes');
	try {
		return x25519.getSharedSecret(secretKey, theirPublicKey);
	} catch {
		throw new CryptoError('the public key is not usable');
	}
}

export const SIGNATURE_BYTES = 64;

/** An Ed25519 key pair: 32-byte secret seed, 32-byte public key. */
export function generateSigningKeyPair(): KeyPair {
	const secretKey = ed25519.utils.randomSecretKey();
	return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

/**
 * The Ed25519 key pair whose 32-byte secret seed is `seed` (a derived key, such as an epoch's room
 * key): the same seed always gives the same pair.
 */
export function signingKeyPairFromSeed(seed: Uint8Array): KeyPair {
	requireKey(seed);
	return { secretKey: seed.slice(), publicKey: ed25519.getPublicKey(seed) };
}

/** The public half of a stored key pair, recomputed so that a damaged record cannot pair mismatched halves. */
export function signingPublicKeyOf(secretKey: Uint8Array): Uint8Array {
	requireKey(secretKey);
	return ed25519.getPublicKey(secretKey);
}

export function agreementPublicKeyOf(secretKey: Uint8Array): Uint8Array {
	requireKey(secretKey);
	return x25519.getPublicKey(secretKey);
}

/** Signs `message` under a purpose label, so a signature made for one purpose never verifies for another. */
export function sign(secretKey: Uint8Array, purpose: string, message: Uint8Array): Uint8Array {
	requireKey(secretKey);
	return ed25519.sign(concatBytes(utf8.encode(purpose), new Uint8Array([0]), message), secretKey);
}

/** False (never an exception) for a wrong, malformed or foreign signature or key. */
export function verify(publicKey: Uint8Array, purpose: string, message: Uint8Array, signature: Uint8Array): boolean {
	if (publicKey.length !== KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
	try {
		return ed25519.verify(signature, concatBytes(utf8.encode(purpose), new Uint8Array([0]), message), publicKey);
	} catch {
		return false;
	}
}

/** Bytes that `sealTo` adds to what it seals. */
export const SEALED_BOX_OVERHEAD = KEY_BYTES + SEAL_OVERHEAD;

function boxKey(shared: Uint8Array, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array): Uint8Array {
	return deriveKey(shared, 'samen/v1/sealed-box', concatBytes(ephemeralPublic, recipientPublic));
}

/** Seals `plaintext` so that only the holder of `recipientPublic`'s secret key can open it. */
export function sealTo(recipientPublic: Uint8Array, plaintext: Uint8Array, associated: Uint8Array): Uint8Array {
	const ephemeral = generateAgreementKeyPair();
	const key = boxKey(agree(ephemeral.secretKey, recipientPublic), ephemeral.publicKey, recipientPublic);
	return concatBytes(ephemeral.publicKey, seal(key, plaintext, associated));
}

/** The inverse of `sealTo`; throws CryptoError when the box is not for this key or was altered. */
export function openSealed(recipient: KeyPair, box: Uint8Array, associated: Uint8Array): Uint8Array {
	if (box.length < SEALED_BOX_OVERHEAD) throw new CryptoError('sealed box is too short');
	const ephemeralPublic = box.subarray(0, KEY_BYTES);
	const key = boxKey(agree(recipient.secretKey, ephemeralPublic), ephemeralPublic, recipient.publicKey);
	return open(key, box.subarray(KEY_BYTES), associated);
}

/** Compares without an early exit, so timing does not tell how much of a proof was right. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	let difference = 0;
	for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
	return difference === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
	let offset = 0;
	for (const part of parts) {
		out.set(part, offset);
		offset += part.length;
	}
	return out;
}

export function toBase64Url(bytes: Uint8Array): string {
	let binary = '';
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text: string): Uint8Array {
	if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new CryptoError('not base64url');
	const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
	const binary = atob(padded);
	const bytes = new Uint8Array(binary.length);
	for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
	return bytes;
}

export function toHex(bytes: Uint8Array): string {
	return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
