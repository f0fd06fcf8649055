import { describe, expect, it } from 'vitest';
import {
	agree,
	CryptoError,
	deriveKey,
	fromBase64Url,
	generateAgreementKeyPair,
	open,
	randomBytes,
	seal,
	SEAL_OVERHEAD,
	toBase64Url
} from '../../src/lib/crypto';

const text = new TextEncoder().encode('Samen: hallo wereld');

describe('seal and open', () => {
	it('round-trips with the same key and associated data', () => {
		const key = randomBytes(32);
		const sealed = seal(key, text, new Uint8Array([7]));
		expect(sealed.length).toBe(text.length + SEAL_OVERHEAD);
		expect(open(key, sealed, new Uint8Array([7]))).toEqual(text);
	});

	it('uses a fresh nonce each time', () => {
		const key = randomBytes(32);
		expect(seal(key, text)).not.toEqual(seal(key, text));
	});

	it('rejects every single flipped bit', () => {
		const key = randomBytes(32);
		const sealed = seal(key, text);
		for (let i = 0; i < sealed.length; i++) {
			const tampered = sealed.slice();
			tampered[i]! ^= 1 << (i % 8);
			expect(() => open(key, tampered)).toThrow(CryptoError);
		}
	});

	it('rejects a wrong key, wrong associated data and truncation', () => {
		const key = randomBytes(32);
		const sealed = seal(key, text, new Uint8Array([1]));
		expect(() => open(randomBytes(32), sealed, new Uint8Array([1]))).toThrow(CryptoError);
		expect(() => open(key, sealed, new Uint8Array([2]))).toThrow(CryptoError);
		expect(() => open(key, sealed.subarray(0, SEAL_OVERHEAD - 1))).toThrow(CryptoError);
		expect(() => seal(new Uint8Array(31), text)).toThrow(CryptoError);
	});
});

describe('key agreement and derivation', () => {
	it('gives both sides the same secret', () => {
		const a = generateAgreementKeyPair();
		const b = generateAgreementKeyPair();
		expect(agree(a.secretKey, b.publicKey)).toEqual(agree(b.secretKey, a.publicKey));
	});

	it('rejects a malformed or low-order public key', () => {
		const a = generateAgreementKeyPair();
		expect(() => agree(a.secretKey, new Uint8Array(31))).toThrow(CryptoError);
		expect(() => agree(a.secretKey, new Uint8Array(32))).toThrow(CryptoError);
	});

	it('separates keys by purpose and salt', () => {
		const secret = randomBytes(32);
		expect(deriveKey(secret, 'a')).not.toEqual(deriveKey(secret, 'b'));
		expect(deriveKey(secret, 'a', new Uint8Array([1]))).not.toEqual(deriveKey(secret, 'a'));
		expect(deriveKey(secret, 'a')).toEqual(deriveKey(secret, 'a'));
	});

	it('matches the RFC 5869 HKDF-SHA256 test vector 3 (empty salt and info)', () => {
		const okm = deriveKey(new Uint8Array(22).fill(0x0b), '', new Uint8Array(0), 42);
		expect(Buffer.from(okm).toString('hex')).toBe(
			'8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8'
		);
	});
});

describe('base64url', () => {
	it('round-trips every length and rejects foreign characters', () => {
		for (let n = 0; n < 40; n++) {
			const bytes = randomBytes(n);
			expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
		}
		expect(() => fromBase64Url('ab+/')).toThrow(CryptoError);
	});
});
