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
 *
 * Limits, checked on both sides: at most MAX_TOPICS topics; a topic is 1 to MAX_TOPIC_LENGTH UTF-16
 * units of well-formed text (in SYNC too); a weight is at most MAX_WEIGHT (the writer clamps it); a
 * state vector is 1 to MAX_STATE_VECTOR_BYTES bytes that decode whole, client ids and clocks below
 * 2^53, and comes with a digest of DELETIONS_DIGEST_BYTES.
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
/** A UTF-16 surrogate without its pair: UTF-8 cannot carry it, so the reader would get another topic. */
const LONE_SURROGATE = /\p{Cs}/u;

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
		checkTopic(topic);
		if (state) checkState(state);
		encoding.writeVarString(encoder, topic);
		encoding.writeVarUint(encoder, Math.min(Math.max(0, Math.floor(weight)), MAX_WEIGHT));
		encoding.writeVarUint8Array(encoder, state?.stateVector ?? new Uint8Array());
		encoding.writeVarUint8Array(encoder, state?.deletions ?? new Uint8Array());
	}
	return encoding.toUint8Array(encoder);
}

/**
 * Whether `state` may be announced as it is (the reader would take it): the sender announces a
 * topic whose stored state is too long or damaged without one, and the peer asks for it whole.
 */
export function isAnnounceable(state: NonNullable<TopicToAnnounce['state']>): boolean {
	try {
		checkState(state);
		return true;
	} catch (error) {
		if (error instanceof SyncProtocolError) return false;
		throw error;
	}
}

function checkState(state: NonNullable<TopicToAnnounce['state']>): void {
	if (state.stateVector.length === 0 || state.stateVector.length > MAX_STATE_VECTOR_BYTES) throw new SyncProtocolError('state vector out of range');
	if (state.deletions.length !== DELETIONS_DIGEST_BYTES) throw new SyncProtocolError('bad deletions digest');
	readStateVector(state.stateVector);
}

/** Wraps a y-protocols sync message, written by `write` into the encoder it is given. */
export function writeSync(topic: string, write: (encoder: encoding.Encoder) => void): Uint8Array {
	checkTopic(topic);
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
	return { vector: readStateVector(stateVector), deletions: deletions.slice() };
}

/** A state vector, [count: varuint]([client: varuint][clock: varuint])*, decoded whole. */
function readStateVector(stateVector: Uint8Array): Map<number, number> {
	const vector = new Map<number, number>();
	try {
		const decoder = decoding.createDecoder(stateVector);
		const clients = decoding.readVarUint(decoder);
		for (let i = 0; i < clients; i++) vector.set(safeInteger(decoding.readVarUint(decoder)), safeInteger(decoding.readVarUint(decoder)));
		if (decoding.hasContent(decoder)) throw new SyncProtocolError('trailing bytes in a state vector');
	} catch (error) {
		if (error instanceof SyncProtocolError) throw error;
		throw new SyncProtocolError(`malformed state vector: ${(error as Error).message}`);
	}
	return vector;
}

/** lib0's readVarUint checks the range only before a varuint's last byte, which can carry it past 2^53 − 1. */
function safeInteger(value: number): number {
	if (!Number.isSafeInteger(value)) throw new SyncProtocolError('a client id or clock past 2^53 - 1');
	return value;
}

function checkTopic(topic: string): void {
	if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH || LONE_SURROGATE.test(topic)) throw new SyncProtocolError('bad topic name');
}

function readTopic(decoder: decoding.Decoder): string {
	const topic = decoding.readVarString(decoder);
	checkTopic(topic);
	return topic;
}
