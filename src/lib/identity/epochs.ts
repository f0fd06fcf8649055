/**
 * The account's key epochs. Each epoch has a random 32-byte secret that the primary seals to every
 * listed device (../protocol/trust.ts); removing a device starts a new epoch, whose secret the
 * removed device never receives. Everything the server or the network could tie to the account
 * derives from the epoch secret, so a former device can neither find nor join the new epoch:
 *
 *   roomId(epoch)     = hex(HKDF(secret, "samen/v1/account-room/" + epoch, 16 bytes))   given to the signaling server
 *   sessionPsk(epoch) = HKDF(secret, "samen/v1/session-psk/" + epoch)                  Noise psk of peer sessions
 *   mailboxKey(epoch) = HKDF(secret, "samen/v1/mailbox/" + epoch)                      seals what waits on the server
 */
import { deriveKey, KEY_BYTES, randomBytes, toHex } from '../crypto';

export interface EpochKey {
	epoch: number;
	secret: Uint8Array;
}

export interface EpochKeys {
	epoch: number;
	room: string;
	sessionPsk: Uint8Array;
	mailboxKey: Uint8Array;
}

export function newEpochSecret(): Uint8Array {
	return randomBytes(KEY_BYTES);
}

export function epochKeys({ epoch, secret }: EpochKey): EpochKeys {
	return {
		epoch,
		room: toHex(deriveKey(secret, `samen/v1/account-room/${epoch}`, undefined, 16)),
		sessionPsk: deriveKey(secret, `samen/v1/session-psk/${epoch}`),
		mailboxKey: deriveKey(secret, `samen/v1/mailbox/${epoch}`)
	};
}
