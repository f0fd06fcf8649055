import { randomBytes, toBase64Url } from '../../src/lib/crypto';
import { roomAuthFromSeed, roomIdForKey } from '../../src/lib/transport/signaling-protocol';
import type { RoomAuth } from '../../src/lib/transport/types';

/** A room whose mailbox opens to its key, as an epoch's account room (src/lib/identity/epochs.ts). */
export interface KeyedRoom {
	room: string;
	auth: RoomAuth;
	/** The room's public key as a `join` frame carries it. */
	key: string;
}

/** A new keyed room; from `seed` (32 bytes) when given, so that a test can name the same room twice. */
export function keyedRoom(seed: Uint8Array = randomBytes(32)): KeyedRoom {
	const auth = roomAuthFromSeed(seed);
	return { room: roomIdForKey(auth.publicKey), auth, key: toBase64Url(auth.publicKey) };
}
