/**
 * Sync protocol between two authenticated devices, carried inside sealed DATA frames
 * (see ../transport/peer-session.ts). One Y.Doc per topic; the messages of y-protocols' sync
 * protocol do the work, this file only names the topic and the announcement around them.
 *
 *   on authentication, each side sends   TOPICS  [0x00][count: varuint][topic: varstring]*
 *   then, for every topic it holds       SYNC    [0x01][topic: varstring][y-protocols SyncStep1]
 *   the receiver answers each step 1     SYNC    [0x01][topic][SyncStep2: what the sender lacks]
 *   every later local change             SYNC    [0x01][topic][Update]
 *
 * A receiver that sees a topic it does not hold yet (and accepts) opens it and sends its own
 * step 1, so data flows both ways. A device is "synced with a peer" once it has had a step 2 for
 * every topic that peer announced. Updates are idempotent and commutative, so duplicated or
 * reordered messages converge to the same state.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export const MESSAGE_TOPICS = 0;
export const MESSAGE_SYNC = 1;
export const MAX_TOPIC_LENGTH = 200;
export const MAX_TOPICS = 100_000;

export type SyncMessage =
	| { type: typeof MESSAGE_TOPICS; topics: string[] }
	| { type: typeof MESSAGE_SYNC; topic: string; body: Uint8Array };

export class SyncProtocolError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SyncProtocolError';
	}
}

export function writeTopics(topics: string[]): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, MESSAGE_TOPICS);
	encoding.writeVarUint(encoder, topics.length);
	for (const topic of topics) encoding.writeVarString(encoder, topic);
	return encoding.toUint8Array(encoder);
}

/** Wraps a y-protocols sync message, written by `write` into the encoder it is given. */
export function writeSync(topic: string, write: (encoder: encoding.Encoder) => void): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, MESSAGE_SYNC);
	encoding.writeVarString(encoder, topic);
	write(encoder);
	return encoding.toUint8Array(encoder);
}

export function readSyncMessage(data: Uint8Array): SyncMessage {
	try {
		const decoder = decoding.createDecoder(data);
		const type = decoding.readVarUint(decoder);
		if (type === MESSAGE_TOPICS) {
			const count = decoding.readVarUint(decoder);
			if (count > MAX_TOPICS) throw new SyncProtocolError('too many topics');
			const topics: string[] = [];
			for (let i = 0; i < count; i++) topics.push(readTopic(decoder));
			if (decoding.hasContent(decoder)) throw new SyncProtocolError('trailing bytes');
			return { type, topics };
		}
		if (type === MESSAGE_SYNC) {
			const topic = readTopic(decoder);
			return { type, topic, body: data.subarray(decoder.pos) };
		}
		throw new SyncProtocolError(`unknown sync message type ${type}`);
	} catch (error) {
		if (error instanceof SyncProtocolError) throw error;
		throw new SyncProtocolError(`malformed sync message: ${(error as Error).message}`);
	}
}

function readTopic(decoder: decoding.Decoder): string {
	const topic = decoding.readVarString(decoder);
	if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) throw new SyncProtocolError('bad topic name');
	return topic;
}
