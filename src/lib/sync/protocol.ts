/**
 * Sync protocol between two authenticated devices, carried inside sealed DATA frames
 * (see ../transport/peer-session.ts). One Y.Doc per topic; the messages of y-protocols' sync
 * protocol do the work, this file only names the topic and the announcement around them.
 *
 *   on authentication, each side sends   TOPICS  [0x00][count: varuint]([topic: varstring][weight: varuint]
 *                                                 [state vector: varbytes][deletions: varbytes])*
 *   for every announced topic it lacks   SYNC    [0x01][topic: varstring][y-protocols SyncStep1]
 *   the receiver answers each step 1     SYNC    [0x01][topic][SyncStep2: what the sender lacks]
 *   every later local change             SYNC    [0x01][topic][Update]
 *
 * The announcement carries each topic's state: its Yjs state vector and a digest of its delete set
 * (../storage/state.ts), both as stored, so announcing opens no document. A receiver asks (step 1)
 * only for the topics where it lacks something: a struct the announced state vector counts and its
 * own does not, or other deletions (different digests). An empty state vector and digest mean "ask
 * me": the sender answers that topic with an excerpt made for the receiver (../history/window.ts),
 * whose state it cannot know beforehand. Each side announces, so each pulls what it lacks and data
 * flows both ways. A device is "synced with a peer" once it has had a step 2 for every topic that
 * peer announced and it lacked. A topic's weight is how many messages it holds for the receiver (at
 * most MAX_WEIGHT): the receiver shows how far a history sync has come by the weights of the topics
 * answered so far. Topics go out in the order the sender wants them filled (newest first). Updates
 * are idempotent and commutative, so duplicated or reordered messages converge to the same state.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { DELETIONS_DIGEST_BYTES } from '../storage/state';

export const MESSAGE_TOPICS = 0;
export const MESSAGE_SYNC = 1;
export const MAX_TOPIC_LENGTH = 200;
export const MAX_TOPICS = 100_000;
/** The most messages a topic may claim to hold: more than a month document can. */
export const MAX_WEIGHT = 10_000_000;
/** The longest state vector an announcement may carry (a client takes 2 to 10 bytes). */
export const MAX_STATE_VECTOR_BYTES = 16_384;

/** A document's state as announced: its state vector (decoded) and deletions digest. */
export interface AnnouncedState {
	vector: Map<number, number>;
	deletions: Uint8Array;
}

export interface AnnouncedTopic {
	topic: string;
	weight: number;
	/** Undefined: "ask me" (the answer is an excerpt). */
	state?: AnnouncedState;
}

/** A topic as this device announces it: its state as stored (encoded), or none. */
export interface TopicToAnnounce {
	topic: string;
	weight: number;
	state?: { stateVector: Uint8Array; deletions: Uint8Array };
}

export type SyncMessage =
	| { type: typeof MESSAGE_TOPICS; topics: AnnouncedTopic[] }
	| { type: typeof MESSAGE_SYNC; topic: string; body: Uint8Array };

export class SyncProtocolError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SyncProtocolError';
	}
}

export function writeTopics(topics: TopicToAnnounce[]): Uint8Array {
	if (topics.length > MAX_TOPICS) throw new SyncProtocolError('too many topics');
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, MESSAGE_TOPICS);
	encoding.writeVarUint(encoder, topics.length);
	for (const { topic, weight, state } of topics) {
		if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) throw new SyncProtocolError('bad topic name');
		if (state && (state.stateVector.length === 0 || state.stateVector.length > MAX_STATE_VECTOR_BYTES)) throw new SyncProtocolError('state vector out of range');
		if (state && state.deletions.length !== DELETIONS_DIGEST_BYTES) throw new SyncProtocolError('bad deletions digest');
		encoding.writeVarString(encoder, topic);
		encoding.writeVarUint(encoder, Math.min(Math.max(0, Math.floor(weight)), MAX_WEIGHT));
		encoding.writeVarUint8Array(encoder, state?.stateVector ?? new Uint8Array());
		encoding.writeVarUint8Array(encoder, state?.deletions ?? new Uint8Array());
	}
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
			const topics: AnnouncedTopic[] = [];
			for (let i = 0; i < count; i++) {
				const topic = readTopic(decoder);
				const weight = decoding.readVarUint(decoder);
				if (weight > MAX_WEIGHT) throw new SyncProtocolError('weight out of range');
				topics.push({ topic, weight, state: readState(decoder) });
			}
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

function readState(decoder: decoding.Decoder): AnnouncedState | undefined {
	const stateVector = decoding.readVarUint8Array(decoder);
	const deletions = decoding.readVarUint8Array(decoder);
	if (stateVector.length === 0 && deletions.length === 0) return undefined;
	if (stateVector.length > MAX_STATE_VECTOR_BYTES) throw new SyncProtocolError('state vector out of range');
	if (deletions.length !== DELETIONS_DIGEST_BYTES) throw new SyncProtocolError('bad deletions digest');
	const inner = decoding.createDecoder(stateVector);
	const vector = new Map<number, number>();
	const clients = decoding.readVarUint(inner);
	for (let i = 0; i < clients; i++) vector.set(decoding.readVarUint(inner), decoding.readVarUint(inner));
	if (decoding.hasContent(inner)) throw new SyncProtocolError('trailing bytes in a state vector');
	return { vector, deletions: deletions.slice() };
}

function readTopic(decoder: decoding.Decoder): string {
	const topic = decoding.readVarString(decoder);
	if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) throw new SyncProtocolError('bad topic name');
	return topic;
}
