/**
 * What a device leaves in its account room's blind mailbox (see ../transport/signaling-protocol.ts)
 * for devices that are not online at the same time, sealed under the epoch's mailbox key:
 *
 *   entry = seal(mailboxKey, plain, associated data = utf-8 room id)
 *   plain = [0x01][topic: varstring][Yjs update]      UPDATE: changes to one document
 *         | [0x02][introduction]                     INTRODUCTION: the newest device list and
 *                                                      heartbeat (../protocol/trust.ts)
 *
 * A device deposits its own changes while no other device of the account is connected; a device
 * that joins the room receives the entries and applies them like any update (updates are
 * idempotent, so an entry applied twice changes nothing). Each room has one introduction entry,
 * under a fixed id (INTRODUCTION_ENTRY_ID) that every deposit replaces and no device takes, so a
 * device that was away finds the newest device list there (after a key rotation, in the former
 * epoch's room) and the newest heartbeat.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { open, seal } from '../crypto';
import { MAX_TOPIC_LENGTH } from '../sync/protocol';
import { MAX_INTRODUCTION_BYTES } from './trust';

const KIND_UPDATE = 1;
const KIND_INTRODUCTION = 2;
export const INTRODUCTION_ENTRY_ID = 'introduction';

export type MailboxContent = { kind: 'update'; topic: string; update: Uint8Array } | { kind: 'introduction'; introduction: Uint8Array };

export class MailboxEntryError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'MailboxEntryError';
	}
}

export function sealMailboxEntry(key: Uint8Array, room: string, content: MailboxContent): Uint8Array {
	const encoder = encoding.createEncoder();
	if (content.kind === 'update') {
		if (content.topic.length === 0 || content.topic.length > MAX_TOPIC_LENGTH) throw new MailboxEntryError('bad topic');
		encoding.writeUint8(encoder, KIND_UPDATE);
		encoding.writeVarString(encoder, content.topic);
		encoding.writeUint8Array(encoder, content.update);
	} else {
		if (content.introduction.length > MAX_INTRODUCTION_BYTES) throw new MailboxEntryError('introduction too large');
		encoding.writeUint8(encoder, KIND_INTRODUCTION);
		encoding.writeUint8Array(encoder, content.introduction);
	}
	return seal(key, encoding.toUint8Array(encoder), new TextEncoder().encode(room));
}

/** Throws on an entry that is not ours, tampered, or malformed. */
export function openMailboxEntry(key: Uint8Array, room: string, sealed: Uint8Array): MailboxContent {
	const plain = open(key, sealed, new TextEncoder().encode(room));
	try {
		const decoder = decoding.createDecoder(plain);
		const kind = decoding.readUint8(decoder);
		if (kind === KIND_UPDATE) {
			const topic = decoding.readVarString(decoder);
			if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) throw new MailboxEntryError('bad topic');
			return { kind: 'update', topic, update: plain.subarray(decoder.pos) };
		}
		if (kind === KIND_INTRODUCTION) {
			const introduction = plain.subarray(decoder.pos);
			if (introduction.length > MAX_INTRODUCTION_BYTES) throw new MailboxEntryError('introduction too large');
			return { kind: 'introduction', introduction };
		}
		throw new MailboxEntryError(`unknown entry kind ${kind}`);
	} catch (error) {
		if (error instanceof MailboxEntryError) throw error;
		throw new MailboxEntryError(`malformed entry: ${(error as Error).message}`);
	}
}
