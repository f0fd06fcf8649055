/**
 * The account's key epochs. Each epoch has a random 32-byte secret that the primary seals to every
 * listed device (../protocol/trust.ts); removing a device starts a new epoch, whose secret the
 * removed device never receives. Everything the server or the network could tie to the account
 * derives from the epoch secret, so a former device can neither find nor join the new epoch:
 *
 *   roomKey(epoch)    = Ed25519 pair, seed HKDF(secret, "samen/v1/room-key/" + epoch)        signs mailbox operations
 *   roomId(epoch)     = hex(SHA-256("samen/v1/room-id" ‖ roomKey.public)[0..16])           given to the signaling server
 *   sessionPsk(epoch) = HKDF(secret, "samen/v1/session-psk/" + epoch)                      Noise psk of peer sessions
 *   mailboxKey(epoch) = HKDF(secret, "samen/v1/mailbox/" + epoch)                          seals what waits on the server
 *
 * The room id is the hash of the room key's public half (../transport/signaling-protocol.ts), so the
 * room is a capability: knowing its id lets one join and watch it, but only a holder of the epoch's
 * secret signs the deposits and takes that its mailbox accepts.
 */
import { deriveKey, KEY_BYTES, randomBytes } from '../crypto';
import { roomAuthFromSeed, roomIdForKey } from '../transport/signaling-protocol';
import type { RoomAuth } from '../transport/types';

export interface EpochKey {
	epoch: number;
	secret: Uint8Array;
}

export interface EpochKeys {
	epoch: number;
	room: string;
	/** Proves to the signaling server that this device may deposit into and take from `room`'s mailbox. */
	roomAuth: RoomAuth;
	sessionPsk: Uint8Array;
	mailboxKey: Uint8Array;
}

export function newEpochSecret(): Uint8Array {
	return randomBytes(KEY_BYTES);
}

export function epochKeys({ epoch, secret }: EpochKey): EpochKeys {
	const roomAuth = roomAuthFromSeed(deriveKey(secret, `samen/v1/room-key/${epoch}`));
	return {
		epoch,
		room: roomIdForKey(roomAuth.publicKey),
		roomAuth,
		sessionPsk: deriveKey(secret, `samen/v1/session-psk/${epoch}`),
		mailboxKey: deriveKey(secret, `samen/v1/mailbox/${epoch}`)
	};
}
