/**
 * The account's shared secret and what derives from it. Every device of the account holds the
 * secret; the epoch rises when the secret is replaced (a device removed), so that a key of an old
 * epoch opens nothing written in a new one.
 *
 *   roomId(epoch)  = hex(HKDF(secret, "samen/v1/account-room/" + epoch, 16 bytes))  — given to the signaling server
 *   syncKey(epoch) = HKDF(secret, "samen/v1/sync-key/" + epoch)                     — never leaves the device
 *   mailboxKey(epoch) = HKDF(secret, "samen/v1/mailbox/" + epoch)                   — seals what waits on the server
 */
import { deriveKey, fromBase64Url, KEY_BYTES, randomBytes, toBase64Url, toHex } from '../crypto';
import type { SessionKey } from '../transport/peer-session';

export interface AccountKey {
	secret: Uint8Array;
	epoch: number;
}

/** As kept in storage and carried in the link bundle. */
export interface StoredAccountKey {
	secret: string;
	epoch: number;
}

export function newAccountKey(): AccountKey {
	return { secret: randomBytes(KEY_BYTES), epoch: 1 };
}

export function accountRoomId(key: AccountKey): string {
	return toHex(deriveKey(key.secret, `samen/v1/account-room/${key.epoch}`, undefined, 16));
}

export function sessionKeyFor(key: AccountKey): SessionKey {
	return { epoch: key.epoch, syncKey: deriveKey(key.secret, `samen/v1/sync-key/${key.epoch}`) };
}

export function mailboxKeyFor(key: AccountKey): Uint8Array {
	return deriveKey(key.secret, `samen/v1/mailbox/${key.epoch}`);
}

export function storeAccountKey(key: AccountKey): StoredAccountKey {
	return { secret: toBase64Url(key.secret), epoch: key.epoch };
}

export function loadAccountKey(stored: StoredAccountKey): AccountKey {
	const secret = fromBase64Url(stored.secret);
	if (secret.length !== KEY_BYTES || !Number.isSafeInteger(stored.epoch) || stored.epoch < 1) {
		throw new Error('the stored account key is damaged');
	}
	return { secret, epoch: stored.epoch };
}
