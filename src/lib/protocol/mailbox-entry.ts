/**
 * What a device leaves in the room's blind mailbox (see ../transport/signaling-protocol.ts), for
 * devices that are not online at the same time:
 *
 *   entry = seal(mailboxKey, [topic: varstring][Yjs update], associated data = utf-8 room id)
 *
 * A device deposits its own changes while no other device of the account is connected, merged
 * per topic; a device that joins the room receives the entries, applies them like any update, and
 * takes (deletes) them. Updates are idempotent, so an entry applied twice changes nothing.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { open, seal } from '../crypto';

export function sealMailboxEntry(key: Uint8Array, room: string, topic: string, update: Uint8Array): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarString(encoder, topic);
	encoding.writeUint8Array(encoder, update);
	return seal(key, encoding.toUint8Array(encoder), new TextEncoder().encode(room));
}

/** Throws on an entry that is not ours, tampered, or malformed. */
export function openMailboxEntry(key: Uint8Array, room: string, sealed: Uint8Array): { topic: string; update: Uint8Array } {
	const plain = open(key, sealed, new TextEncoder().encode(room));
	const decoder = decoding.createDecoder(plain);
	const topic = decoding.readVarString(decoder);
	return { topic, update: plain.subarray(decoder.pos) };
}
