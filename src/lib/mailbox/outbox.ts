/**
 * What this device still owes the mailbox: per document, the state vector up to which everything
 * was delivered. What to deposit is encoded from the document itself against that vector (linear in
 * what is new; no merging of many small updates), and it carries whatever this device received from
 * the mailbox too, so a change reaches every device however the devices take turns being online.
 * Kept in the device's records: closing the app, reloading or losing the network loses nothing.
 */
import * as Y from 'yjs';
import { fromBase64Url, toBase64Url } from '../crypto';
import type { KeyValueStore } from '../storage/types';
import { encodeIntegrated } from '../sync/engine';

const RECORD = 'outbox';

type OutboxRecord = Record<string, string>;

export class Outbox {
	private saving: Promise<void> = Promise.resolve();

	private constructor(
		private readonly records: KeyValueStore,
		private readonly owed: Map<string, Uint8Array>,
		private readonly record: string
	) {}

	/** The outbox kept under `record` (the account's rooms: 'outbox'; a shared chat's: its own). */
	static async load(records: KeyValueStore, record = RECORD): Promise<Outbox> {
		const saved = (await records.get<OutboxRecord>(record)) ?? {};
		const owed = new Map<string, Uint8Array>();
		for (const [topic, vector] of Object.entries(saved)) {
			try {
				owed.set(topic, fromBase64Url(vector));
			} catch {
				// A damaged vector: owing the whole document is the safe reading.
				owed.set(topic, new Uint8Array([0]));
			}
		}
		return new Outbox(records, owed, record);
	}

	get topics(): string[] {
		return [...this.owed.keys()];
	}

	get isEmpty(): boolean {
		return this.owed.size === 0;
	}

	/** `update` changed `doc` and other devices may not have it yet. */
	owe(topic: string, doc: Y.Doc, update: Uint8Array): void {
		if (this.owed.has(topic)) return;
		this.owed.set(topic, vectorBefore(doc, update));
		this.save();
	}

	/** Everything owed for `topic`, as one update: what changed since the delivered vector. */
	pending(topic: string, doc: Y.Doc): { update: Uint8Array; vector: Uint8Array } {
		return { update: encodeIntegrated(doc, this.owed.get(topic)), vector: Y.encodeStateVector(doc) };
	}

	/** The document was delivered up to `vector`; what changed after stays owed. */
	delivered(topic: string, doc: Y.Doc, vector: Uint8Array): void {
		if (!this.owed.has(topic)) return;
		if (sameVector(vector, Y.encodeStateVector(doc))) this.owed.delete(topic);
		else this.owed.set(topic, vector);
		this.save();
	}

	/** Every other device has everything: nothing is owed. */
	clear(): void {
		if (this.owed.size === 0) return;
		this.owed.clear();
		this.save();
	}

	private save(): void {
		const snapshot: OutboxRecord = {};
		for (const [topic, vector] of this.owed) snapshot[topic] = toBase64Url(vector);
		this.saving = this.saving.then(() => this.records.set(this.record, snapshot)).catch(() => undefined);
	}

	/** Waits until what was owed is stored. */
	flushed(): Promise<void> {
		return this.saving;
	}
}

/** The document's state vector as it was before `update`: the update's own clocks taken back. */
function vectorBefore(doc: Y.Doc, update: Uint8Array): Uint8Array {
	const vector = Y.decodeStateVector(Y.encodeStateVector(doc));
	const { from } = Y.parseUpdateMeta(update);
	for (const [client, clock] of from) if ((vector.get(client) ?? 0) > clock) vector.set(client, clock);
	return Y.encodeStateVector(vector);
}

function sameVector(a: Uint8Array, b: Uint8Array): boolean {
	const left = Y.decodeStateVector(a);
	const right = Y.decodeStateVector(b);
	if (left.size !== right.size) return false;
	for (const [client, clock] of left) if (right.get(client) !== clock) return false;
	return true;
}
