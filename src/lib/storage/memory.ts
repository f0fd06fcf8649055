import * as Y from 'yjs';
import { documentState } from './state';
import { applyChanging, applyUnheard, hasPending, type DocumentStore, type KeyValueStore, type StoredTopic } from './types';

/** Survives a device "restart" in tests when the same instance is handed to the new device. */
export class MemoryDocumentStore implements DocumentStore {
	/** Topic → every update saved for it, oldest first; a topic appears with its first update. */
	private readonly saved = new Map<string, Uint8Array[]>();
	private readonly bound = new Map<string, { doc: Y.Doc; listener: (update: Uint8Array, origin: unknown) => void }[]>();

	private readonly describers = new Map<string, (doc: Y.Doc) => unknown>();
	/** Each topic's summary as of its last save, made when asked for (or when its document is let go). */
	private readonly records = new Map<string, StoredTopic>();
	/** Topics saved since their summary was made, with the document that holds what is saved. */
	private readonly stale = new Map<string, Y.Doc>();
	/** Topics whose document, at its last save, held nothing Yjs could not integrate. */
	private readonly integrated = new Set<string>();

	async bind(topic: string, doc: Y.Doc, describe?: (doc: Y.Doc) => unknown): Promise<void> {
		if (describe) this.describers.set(topic, describe);
		else this.describers.delete(topic);
		const updates = this.saved.get(topic);
		if (doc.store.clients.size > 0) this.save(topic, Y.encodeStateAsUpdate(doc), doc);
		// Each in turn in one transaction: faster than merging first (bench/storage.ts).
		if (updates && updates.length > 0) Y.transact(doc, () => updates.forEach((update) => Y.applyUpdate(doc, update, this)), this);
		if (this.stale.has(topic)) this.stale.set(topic, doc);
		const listener = (update: Uint8Array, origin: unknown) => {
			if (origin !== this) this.save(topic, update, doc);
		};
		doc.on('update', listener);
		this.bound.set(topic, [...(this.bound.get(topic) ?? []), { doc, listener }]);
	}

	applyUpdate(topic: string, doc: Y.Doc, update: Uint8Array, origin: unknown): boolean {
		const binding = this.bound.get(topic)?.find((bound) => bound.doc === doc);
		if (!binding) return applyChanging(doc, update, origin);
		return applyUnheard(doc, update, origin, binding.listener, (saved) => this.save(topic, saved, doc));
	}

	private save(topic: string, update: Uint8Array, doc: Y.Doc): void {
		const updates = this.saved.get(topic) ?? [];
		updates.push(update);
		this.saved.set(topic, updates);
		this.stale.set(topic, doc);
		if (hasPending(doc)) this.integrated.delete(topic);
		else this.integrated.add(topic);
	}

	/** Makes the summaries of the topics saved since theirs were made, from their documents. */
	private summarise(): void {
		for (const [topic, doc] of this.stale) {
			const bytes = (this.saved.get(topic) ?? []).reduce((sum, update) => sum + update.byteLength, 0);
			this.records.set(topic, { ...documentState(doc), bytes, description: this.describers.get(topic)?.(doc) });
		}
		this.stale.clear();
	}

	async topics(): Promise<string[]> {
		return [...this.saved.keys()];
	}

	async stateVector(topic: string): Promise<Uint8Array> {
		return Y.encodeStateVector(this.rebuilt(topic));
	}

	/** The document as saved, made anew. */
	private rebuilt(topic: string): Y.Doc {
		// Applied one by one: merging thousands of small updates grows much faster than linearly.
		const doc = new Y.Doc({ gc: false });
		Y.transact(doc, () => {
			for (const update of this.saved.get(topic) ?? []) Y.applyUpdate(doc, update);
		});
		return doc;
	}

	async savedAsIs(topics: string[]): Promise<Map<string, Uint8Array[]>> {
		const result = new Map<string, Uint8Array[]>();
		for (const topic of topics) {
			const updates = this.saved.get(topic);
			if (!updates || this.bound.has(topic) || !this.integrated.has(topic)) continue;
			result.set(topic, [...updates]);
		}
		return result;
	}

	async summaries(): Promise<Map<string, StoredTopic>> {
		this.summarise();
		return new Map(this.records);
	}

	async sizes(): Promise<Map<string, number>> {
		return new Map([...this.saved].map(([topic, updates]) => [topic, updates.reduce((sum, update) => sum + update.byteLength, 0)]));
	}

	async delete(topic: string): Promise<void> {
		for (const { doc, listener } of this.bound.get(topic) ?? []) doc.off('update', listener);
		this.bound.delete(topic);
		this.saved.delete(topic);
		this.describers.delete(topic);
		this.records.delete(topic);
		this.stale.delete(topic);
		this.integrated.delete(topic);
	}

	async flush(): Promise<void> {}

	async clear(): Promise<void> {
		await this.close();
		this.saved.clear();
		this.describers.clear();
		this.records.clear();
		this.stale.clear();
		this.integrated.clear();
	}

	async close(): Promise<void> {
		// Summaries are made before the documents go: they are what is saved.
		this.summarise();
		for (const bindings of this.bound.values()) for (const { doc, listener } of bindings) doc.off('update', listener);
		this.bound.clear();
	}
}

export class MemoryKeyValueStore implements KeyValueStore {
	private readonly values = new Map<string, string>();

	async get<T>(key: string): Promise<T | undefined> {
		const value = this.values.get(key);
		return value === undefined ? undefined : (JSON.parse(value) as T);
	}

	async set<T>(key: string, value: T): Promise<void> {
		this.values.set(key, JSON.stringify(value));
	}

	async delete(key: string): Promise<void> {
		this.values.delete(key);
	}

	async clear(): Promise<void> {
		this.values.clear();
	}
}
