/**
 * A device's own identity: an Ed25519 key pair to sign and an X25519 key pair to agree (its Noise
 * static key, and the key epoch secrets are sealed to). Made on the device; the secret halves never
 * leave it. The device's id derives from the public halves (../protocol/trust.ts `deviceIdOf`).
 * On the primary, the signing key is the account's identity key.
 */
import {
	agreementPublicKeyOf,
	fromBase64Url,
	generateAgreementKeyPair,
	generateSigningKeyPair,
	signingPublicKeyOf,
	toBase64Url,
	type KeyPair
} from '../crypto';
import { deviceIdOf } from '../protocol/trust';

export interface DeviceKeys {
	id: string;
	signing: KeyPair;
	agreement: KeyPair;
}

/** As kept in this device's storage: only the secret halves; the public ones are recomputed. */
export interface StoredDeviceKeys {
	signingSecret: string;
	agreementSecret: string;
}

export function generateDeviceKeys(): DeviceKeys {
	const signing = generateSigningKeyPair();
	const agreement = generateAgreementKeyPair();
	return { id: deviceIdOf(signing.publicKey, agreement.publicKey), signing, agreement };
}

export function storeDeviceKeys(keys: DeviceKeys): StoredDeviceKeys {
	return { signingSecret: toBase64Url(keys.signing.secretKey), agreementSecret: toBase64Url(keys.agreement.secretKey) };
}

/** Throws when the stored record is damaged. */
export function loadDeviceKeys(stored: StoredDeviceKeys): DeviceKeys {
	const signingSecret = fromBase64Url(stored.signingSecret);
	const agreementSecret = fromBase64Url(stored.agreementSecret);
	const signing = { secretKey: signingSecret, publicKey: signingPublicKeyOf(signingSecret) };
	const agreement = { secretKey: agreementSecret, publicKey: agreementPublicKeyOf(agreementSecret) };
	return { id: deviceIdOf(signing.publicKey, agreement.publicKey), signing, agreement };
}
