/**
 * The account's key epochs and their rooms. Each epoch has a random 32-byte secret that the primary
 * seals to every listed device (../protocol/trust.ts); removing a device starts a new epoch, whose
 * secret the removed device never receives. Everything the server or the network could tie to the
 * account derives from the epoch secret, so a former device can neither find nor join the new epoch:
 *
 *   sessionPsk(epoch)     = HKDF(secret, "samen/v1/session-psk/" + epoch)       Noise psk of peer sessions
 *   mailboxKey(epoch)     = HKDF(secret, "samen/v1/mailbox/" + epoch)           seals what waits on the server
 *   roomSecret(epoch)     = HKDF(secret, "samen/v1/room-key/" + epoch)
 *   roomKey(epoch, day)   = Ed25519 pair, seed HKDF(roomSecret, "samen/v1/room-day/" + day)    signs mailbox operations
 *   roomId(epoch, day)    = hex(SHA-256("samen/v1/room-id" ‖ roomKey.public)[0..16])           given to the signaling server
 *
 * `day` is the UTC day number (days since 1970-01-01). The devices of an account meet, and leave
 * what waits for each other, in the room of the current day: the room id the server sees changes
 * every day, so a room id that leaked (a log, a copy of the mailbox store, a network observer of a
 * plain-http server) follows the account for one day, not for the life of an epoch. A device that
 * was away catches up on the mailboxes of the days it missed (../session.ts).
 *
 * The room id is the hash of the room key's public half (../transport/signaling-protocol.ts), so the
 * room is a capability: knowing its id lets one join and watch it, but only a holder of the epoch's
 * secret signs the deposits and takes that its mailbox accepts.
 */
import { deriveKey, KEY_BYTES, randomBytes } from '../crypto';
import { roomAuthFromSeed, roomIdForKey } from '../transport/signaling-protocol';
import type { RoomAuth } from '../transport/types';

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface EpochKey {
	epoch: number;
	secret: Uint8Array;
}

export interface EpochKeys {
	epoch: number;
	sessionPsk: Uint8Array;
	mailboxKey: Uint8Array;
	/** What each day's room key derives from. */
	roomSecret: Uint8Array;
}

/** One day's room of one epoch: what a device needs to meet there and to use its mailbox. */
export interface RoomKeys {
	epoch: number;
	day: number;
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
	return {
		epoch,
		sessionPsk: deriveKey(secret, `samen/v1/session-psk/${epoch}`),
		mailboxKey: deriveKey(secret, `samen/v1/mailbox/${epoch}`),
		roomSecret: deriveKey(secret, `samen/v1/room-key/${epoch}`)
	};
}

/** The UTC day number of a time in milliseconds. */
export function dayOf(time: number): number {
	return Math.floor(time / DAY_MS);
}

export function roomKeys(keys: EpochKeys, day: number): RoomKeys {
	const roomAuth = roomAuthFromSeed(deriveKey(keys.roomSecret, `samen/v1/room-day/${day}`));
	return { epoch: keys.epoch, day, room: roomIdForKey(roomAuth.publicKey), roomAuth, sessionPsk: keys.sessionPsk, mailboxKey: keys.mailboxKey };
}
