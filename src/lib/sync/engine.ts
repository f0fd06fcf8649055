/**
 * Keeps a set of Y.Docs (one per topic) in sync with every verified peer of every attached channel,
 * and in storage. Each channel comes with a share policy that decides, per peer and topic, what
 * that peer may learn of and read. The wire format is in ./protocol.ts; the channel below it seals
 * and authenticates.
 */
import * as syncProtocol from 'y-protocols/sync';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { documentState, lacks, type DocumentState } from '../storage/state';
import type { DocumentStore, StoredTopic } from '../storage/types';
import type { VerifiedPeer } from '../transport/peer-session';
import type { PeerId } from '../transport/types';
import { Emitter } from '../util/emitter';
import { isAnnounceable, MESSAGE_TOPICS, readSyncMessage, writeSync, writeTopics, type AnnouncedTopic, type TopicToAnnounce } from './protocol';

/** What the engine needs of a channel: verified peers and sealed messages. */
export interface SyncChannel {
	readonly authenticatedPeers: VerifiedPeer[];
	send(peer: PeerId, data: Uint8Array): void;
	on(event: 'authenticated', listener: (peer: VerifiedPeer) => void): () => void;
	on(event: 'closed', listener: (peer: PeerId) => void): () => void;
	on(event: 'message', listener: (message: { peer: PeerId; data: Uint8Array }) => void): () => void;
}

/**
 * How a topic is shared with a verified peer:
 *   false      not at all: never announced to it, nothing of it sent to it, nothing it sends about it applied;
 *   true       whole, both ways;
 *   excerpt    announced, and answered with the excerpt the policy makes from the document
 *              (../history/window.ts) instead of the document's own state; never updated live;
 *   'receive'  this device only takes what the peer has: it asks (step 1) but announces nothing,
 *              answers nothing and sends no updates (it holds only an excerpt of the document).
 */
export type TopicShare = boolean | 'receive' | { excerpt(doc: Y.Doc): Uint8Array };

/** Whether a topic shared so is announced to the peer and its questions answered. */
const gives = (share: TopicShare) => share === true || typeof share === 'object';

/** Which topics a verified peer may learn of and read, and how. */
export type SharePolicy = (peer: VerifiedPeer, topic: string) => TopicShare;

export interface SyncEngineOptions {
	/** Decides which topics this device opens at all, whoever offers them. */
	acceptTopic?: (topic: string) => boolean;
	/**
	 * Decides whether an update may be applied to `topic`'s document `doc`; `from` is the verified
	 * peer that sent it, or undefined for the mailbox.
	 */
	acceptUpdate?: (topic: string, update: Uint8Array, from: VerifiedPeer | undefined, doc: Y.Doc) => boolean;
	/**
	 * Every topic this device holds, opened or not: what it offers a peer it meets, with the state
	 * its store keeps (a topic with nothing stored is not offered). Without it, the open documents.
	 */
	knownTopics?: () => string[];
	/** How many messages `doc` holds for `peer`: a history sync's progress counts these. */
	weigh?: (peer: VerifiedPeer, topic: string, doc: Y.Doc) => number;
	/**
	 * The same count from the topic's stored description (`describe`), when that tells it exactly;
	 * undefined to open the document and `weigh` it.
	 */
	weighStored?: (peer: VerifiedPeer, topic: string, description: unknown) => number | undefined;
	/** Which topics go first: the highest first (newest history first). */
	priority?: (topic: string) => number;
	/** What the store keeps beside `topic`'s document with every save (plain data), read back by `stored`. */
	describe?: (topic: string, doc: Y.Doc) => unknown;
	/**
	 * Whether `topic`'s document runs with Yjs garbage collection, so that what was deleted in it
	 * (a message deleted for everyone) is not in what it sends; such a document is never answered
	 * from storage as saved, which may still hold the deleted content.
	 */
	collects?: (topic: string) => boolean;
}

/** How far this device has come in receiving what its peers announced. */
export interface SyncProgress {
	/** Messages (weights) in the topics answered so far. */
	received: number;
	/** Messages (weights) in every topic announced. */
	expected: number;
}

/** Documents opened together before yielding to the rest of the page. */
const OPEN_BATCH = 50;
/** Topics read as saved together (nothing decoded). */
const SAVED_BATCH = 200;
/** The first of them: the newest history leaves while the rest is read. */
const SAVED_FIRST_BATCH = 10;

/**
 * Gathers what the messages of one task ask for, and gets it together, a task later: `first` at
 * first, then twice as many each batch up to `size`. The small first batch comes back soon, so
 * that what waits on it (a new device) starts while the larger ones are read.
 */
class Batcher<T> {
	private readonly waiting: { key: string; resolve: (value: T) => void; reject: (error: unknown) => void }[] = [];
	private timer?: ReturnType<typeof setTimeout>;
	private nextSize: number;

	constructor(
		private readonly size: number,
		private readonly run: (keys: string[]) => Promise<T>[],
		private readonly first = size
	) {
		this.nextSize = first;
	}

	get(key: string): Promise<T> {
		return new Promise((resolve, reject) => {
			this.waiting.push({ key, resolve, reject });
			this.timer ??= setTimeout(() => this.next(), 0);
		});
	}

	private next(): void {
		this.timer = undefined;
		const now = this.waiting.splice(0, this.nextSize);
		this.nextSize = this.waiting.length > 0 ? Math.min(this.size, this.nextSize * 2) : this.first;
		const results = this.run(now.map(({ key }) => key));
		now.forEach(({ resolve, reject }, i) => results[i]!.then(resolve, reject));
		if (this.waiting.length > 0) this.timer = setTimeout(() => this.next(), 0);
	}

	/** Forgets what waits (its promises stay unsettled). */
	clear(): void {
		clearTimeout(this.timer);
		this.timer = undefined;
		this.waiting.length = 0;
	}
}

/**
 * How many topics a peer (by device) may make this device open that it did not hold, by
 * announcing them or sending for them: an account's year of history is far less. Past it, what
 * the peer names is refused (and counted): a listed device cannot make this one open a document
 * for every name it invents. What was held before does not count, so a sync cut short by the
 * bound goes on at the next meeting.
 */
export const MAX_NEW_TOPICS_PER_PEER = 5_000;

export type SyncEngineEvents = {
	/** A document was opened, by this device or because a peer offered it. */
	'topic-opened': string;
	/** A document changed, from here or from a peer. */
	changed: { topic: string; local: boolean };
	/** A change made on this device, as a Yjs update. */
	'local-update': { topic: string; update: Uint8Array };
	/** This device has had everything the peer announced when they met. */
	'peer-synced': VerifiedPeer;
	'peers-changed': VerifiedPeer[];
	/** A peer answered one more of the topics it announced (see `progress`). */
	progress: void;
};

/**
 * A document's state for a peer that holds `stateVector`, without what Yjs keeps but could not
 * integrate yet: it would otherwise merge a peer's unintegrated (possibly hostile) structs into every
 * state it encodes, and forward them, or lose integrated content under them. Those wait until their
 * dependencies arrive, and travel from then on as part of the document.
 */
export function encodeIntegrated(doc: Y.Doc, stateVector?: Uint8Array): Uint8Array {
	const store = doc.store as unknown as { pendingStructs: unknown; pendingDs: unknown };
	const { pendingStructs, pendingDs } = store;
	store.pendingStructs = null;
	store.pendingDs = null;
	try {
		return Y.encodeStateAsUpdate(doc, stateVector);
	} finally {
		store.pendingStructs = pendingStructs;
		store.pendingDs = pendingDs;
	}
}

/** A state as `lacks` compares it; a state vector that cannot be read counts as holding nothing. */
function decodeState(state: DocumentState): { vector: Map<number, number>; deletions: Uint8Array } {
	try {
		return { vector: Y.decodeStateVector(state.stateVector), deletions: state.deletions };
	} catch {
		return { vector: new Map(), deletions: state.deletions };
	}
}

/** The origin of updates that arrived through the mailbox rather than from a peer. */
export const FROM_MAILBOX = Symbol('mailbox');

interface PeerProgress {
	verified: VerifiedPeer;
	/** What the peer announced, with each topic's weight (those this device lacked nothing of count as answered). */
	announced?: Map<string, number>;
	/** What this device announced to the peer: the peer may ask for these. */
	offered: Set<string>;
	answered: Set<string>;
	received: number;
	synced: boolean;
	/**
	 * Topics whose live update from this peer was refused, and that were asked for again whole (a
	 * step 1): once per topic until an update of it from the peer applies, so a peer that sends only
	 * refused updates is not answered with a question each time.
	 */
	askedAgain: Set<string>;
}

/** One attached channel: its peers' progress and what each may see. */
class Attachment {
	readonly progress = new Map<PeerId, PeerProgress>();
	readonly unsubscribe: (() => void)[] = [];
	constructor(
		readonly channel: SyncChannel,
		readonly share: SharePolicy
	) {}

	sharing(peer: PeerId, topic: string): TopicShare {
		const progress = this.progress.get(peer);
		return !!progress && this.share(progress.verified, topic);
	}
}

/** The origin Yjs records for an update a peer sent: the attachment and the peer, so it is not echoed back. */
interface PeerOrigin {
	attachment: Attachment;
	peer: PeerId;
}

export class SyncEngine extends Emitter<SyncEngineEvents> {
	private readonly docs = new Map<string, Y.Doc>();
	private readonly opening = new Map<string, Promise<Y.Doc>>();
	/** Topics peers asked about that are not open yet: opened OPEN_BATCH at a time. */
	private readonly opener = new Batcher<Y.Doc>(OPEN_BATCH, (topics) => topics.map((topic) => this.open(topic)));
	/** Topics a new peer asked for whole: read as saved, SAVED_FIRST_BATCH at first, up to SAVED_BATCH at a time. */
	private readonly reader = new Batcher<Uint8Array[] | undefined>(
		SAVED_BATCH,
		(topics) => {
			const saved = this.store.savedAsIs(topics);
			return topics.map((topic) => saved.then((all) => all.get(topic)));
		},
		SAVED_FIRST_BATCH
	);
	/** Each open document's 'update' listener. */
	private readonly updateListeners = new WeakMap<Y.Doc, (update: Uint8Array, origin: unknown) => void>();
	private readonly attachments = new Set<Attachment>();
	/** Messages dropped because they were malformed or named a topic this device refuses. */
	rejectedMessages = 0;
	/** Topics a peer named past MAX_NEW_TOPICS_PER_PEER, not opened. */
	refusedTopics = 0;
	/** Per device: the topics it made this device open that it did not hold. */
	private readonly openedFor = new Map<string, Set<string>>();

	private readonly acceptTopic: (topic: string) => boolean;
	private readonly acceptUpdate: NonNullable<SyncEngineOptions['acceptUpdate']>;

	constructor(
		private readonly store: DocumentStore,
		private readonly options: SyncEngineOptions = {}
	) {
		super();
		this.acceptTopic = options.acceptTopic ?? (() => true);
		this.acceptUpdate = options.acceptUpdate ?? (() => true);
	}

	/** Topics in the order they are filled: by priority, highest first. */
	private ordered(topics: Iterable<string>): string[] {
		const priority = this.options.priority;
		const list = [...topics];
		return priority ? list.sort((a, b) => priority(b) - priority(a)) : list;
	}

	/** The sync with peers not yet synced, in messages; undefined when every peer is synced. */
	get progress(): SyncProgress | undefined {
		let received = 0;
		let expected = 0;
		let pending = false;
		for (const attachment of this.attachments) {
			for (const progress of attachment.progress.values()) {
				if (progress.synced || !progress.announced) continue;
				pending = true;
				received += progress.received;
				for (const weight of progress.announced.values()) expected += weight;
			}
		}
		return pending ? { received, expected } : undefined;
	}

	/** Starts exchanging with the verified peers of `channel`, sharing what `share` allows; returns a detach function. */
	attach(channel: SyncChannel, share: SharePolicy): () => void {
		const attachment = new Attachment(channel, share);
		this.attachments.add(attachment);
		attachment.unsubscribe.push(
			channel.on('authenticated', (peer) => this.greet(attachment, peer)),
			channel.on('closed', (peer) => {
				if (attachment.progress.delete(peer)) this.emit('peers-changed', this.peers);
			}),
			channel.on('message', ({ peer, data }) => void this.receive(attachment, peer, data))
		);
		for (const peer of channel.authenticatedPeers) this.greet(attachment, peer);
		return () => this.detachOne(attachment);
	}

	/**
	 * What `channel`'s share policy gives has changed (a chat's room became its handover room):
	 * announces again to each of its peers what it shares with them now. A peer that announces
	 * again in turn replaces what it announced before, so a sync never waits on what is no longer shared.
	 */
	reannounce(channel: SyncChannel): void {
		for (const attachment of this.attachments) {
			if (attachment.channel !== channel) continue;
			for (const progress of attachment.progress.values()) {
				progress.offered.clear();
				void this.offer(attachment, progress);
			}
		}
	}

	/** Detaches every channel. */
	detach(): void {
		for (const attachment of [...this.attachments]) this.detachOne(attachment);
	}

	private detachOne(attachment: Attachment): void {
		if (!this.attachments.delete(attachment)) return;
		for (const stop of attachment.unsubscribe.splice(0)) stop();
		const had = attachment.progress.size > 0;
		attachment.progress.clear();
		if (had) this.emit('peers-changed', this.peers);
	}

	get peers(): VerifiedPeer[] {
		const peers: VerifiedPeer[] = [];
		for (const attachment of this.attachments) for (const progress of attachment.progress.values()) peers.push(progress.verified);
		return peers;
	}

	get topics(): string[] {
		return [...this.docs.keys()];
	}

	doc(topic: string): Y.Doc | undefined {
		return this.docs.get(topic);
	}

	/** Opens (loading from storage) or returns the document of `topic`. */
	open(topic: string): Promise<Y.Doc> {
		const existing = this.opening.get(topic);
		if (existing) return existing;
		const opened = this.load(topic);
		this.opening.set(topic, opened);
		return opened;
	}

	/** What the store holds of every saved topic (state, description), without opening any. */
	stored(): Promise<Map<string, StoredTopic>> {
		return this.store.summaries();
	}

	/**
	 * Opens `topic` for a peer's message. Messages arrive one task each; the topics they name are
	 * gathered and opened OPEN_BATCH at a time, so that storage reads them together (one read
	 * each batch) rather than one read per message.
	 */
	private openBatched(topic: string): Promise<Y.Doc> {
		if (this.docs.has(topic) || this.opening.has(topic)) return this.open(topic);
		return this.opener.get(topic);
	}

	/**
	 * Answers a peer that holds nothing of `topic` (a new device) with what storage holds as it was
	 * saved, without opening the document: nothing decoded, nothing encoded again. Its changes go
	 * first as updates, its snapshot last as the step 2, so that the peer has it all once answered.
	 * False when storage cannot give it so (the topic is open, or may hold what Yjs could not integrate).
	 */
	private async answerAsSaved(attachment: Attachment, peer: PeerId, topic: string): Promise<boolean> {
		let saved: Uint8Array[] | undefined;
		try {
			saved = await this.reader.get(topic);
		} catch (error) {
			console.warn(`Samen: ${topic} could not be read as saved; it is opened instead`, error);
			return false;
		}
		if (!saved || this.docs.has(topic) || !attachment.progress.has(peer) || this.options.collects?.(topic)) return false;
		const [snapshot, ...changes] = saved;
		for (const change of changes) attachment.channel.send(peer, writeSync(topic, (e) => syncProtocol.writeUpdate(e, change)));
		attachment.channel.send(peer, writeSync(topic, (e) => {
			encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep2);
			encoding.writeVarUint8Array(e, snapshot!);
		}));
		return true;
	}

	/** Closes `topic`'s document and deletes what is stored of it on this device. */
	async forget(topic: string): Promise<void> {
		const opening = this.opening.get(topic);
		this.opening.delete(topic);
		if (opening) (await opening.catch(() => undefined))?.destroy();
		this.docs.delete(topic);
		await this.store.delete(topic);
	}

	async close(): Promise<void> {
		this.detach();
		// Messages waiting for their topics to open are not handled any more.
		this.opener.clear();
		this.reader.clear();
		await Promise.allSettled(this.opening.values());
		for (const doc of this.docs.values()) doc.destroy();
		this.docs.clear();
		this.opening.clear();
		await this.store.close();
	}

	private async load(topic: string): Promise<Y.Doc> {
		// gc off, but where what was deleted must not travel on: deletions are rare elsewhere, and the
		// history window's excerpts rely on every item being there.
		// Named by its topic: a random guid costs a call to the random source per document.
		const doc = new Y.Doc({ gc: this.options.collects?.(topic) ?? false, guid: topic });
		const describe = this.options.describe;
		await this.store.bind(topic, doc, describe && ((saved) => describe(topic, saved)));
		const listener = (update: Uint8Array, origin: unknown) => {
			this.forward(topic, origin, () => update);
			// Changes made here carry no origin; a peer's carry a PeerOrigin, the mailbox's FROM_MAILBOX.
			const local = origin === null || origin === undefined;
			this.emit('changed', { topic, local });
			if (local) this.emit('local-update', { topic, update });
		};
		doc.on('update', listener);
		this.updateListeners.set(doc, listener);
		this.docs.set(topic, doc);
		this.emit('topic-opened', topic);
		for (const attachment of this.attachments) {
			for (const peer of attachment.progress.keys()) if (attachment.sharing(peer, topic) !== false) this.sendStep1(attachment, peer, topic, doc);
		}
		return doc;
	}

	/** Sends a change of `topic` to every peer that has the document whole, but the one it came from. */
	private forward(topic: string, origin: unknown, update: () => Uint8Array): void {
		const from = origin as PeerOrigin | undefined;
		let encoded: Uint8Array | undefined;
		for (const attachment of this.attachments) {
			for (const peer of attachment.progress.keys()) {
				if (from?.attachment === attachment && from.peer === peer) continue;
				// An excerpt is not kept up to date: only a document shared whole is.
				if (attachment.sharing(peer, topic) !== true) continue;
				encoded ??= writeSync(topic, (e) => syncProtocol.writeUpdate(e, update()));
				attachment.channel.send(peer, encoded);
			}
		}
	}

	/**
	 * Applies a peer's update through the store, with this engine's 'update' listener off: Yjs then
	 * encodes nothing again (a history sync is mostly large step 2s). What the listener would do is
	 * done here: other peers that have the document whole get what changed, and `changed` is said.
	 */
	private applyFromPeer(topic: string, doc: Y.Doc, update: Uint8Array, origin: PeerOrigin): void {
		const listener = this.updateListeners.get(doc);
		// The state before, as the transaction saw it: most updates a relaying peer sends are already held, and cost no state vector of their own.
		let before: Map<number, number> | undefined;
		const noteBefore = (transaction: Y.Transaction) => {
			before ??= transaction.beforeState;
		};
		if (listener) doc.off('update', listener);
		doc.on('afterTransaction', noteBefore);
		let changed: boolean;
		try {
			changed = this.store.applyUpdate(topic, doc, update, origin);
		} finally {
			doc.off('afterTransaction', noteBefore);
			if (listener) doc.on('update', listener);
		}
		if (!changed || !before) return;
		const vector = Y.encodeStateVector(before);
		this.forward(topic, origin, () => encodeIntegrated(doc, vector));
		this.emit('changed', { topic, local: false });
	}

	/** Applies an update that did not come over a channel (the mailbox); false if it is not valid. */
	async applyUpdate(topic: string, update: Uint8Array): Promise<boolean> {
		if (!this.acceptTopic(topic)) return false;
		const doc = await this.open(topic);
		if (!this.acceptUpdate(topic, update, undefined, doc)) return false;
		try {
			Y.applyUpdate(doc, update, FROM_MAILBOX);
			return true;
		} catch {
			this.rejectedMessages++;
			return false;
		}
	}

	private greet(attachment: Attachment, verified: VerifiedPeer): void {
		if (!this.attachments.has(attachment)) return;
		const peer = verified.peer;
		const progress: PeerProgress = { verified, offered: new Set(), answered: new Set(), received: 0, synced: false, askedAgain: new Set() };
		attachment.progress.set(peer, progress);
		this.emit('peers-changed', this.peers);
		void this.offer(attachment, progress);
	}

	/** What the store holds; nothing when it cannot say (each topic is then opened to see). */
	private async storedOrNothing(): Promise<Map<string, StoredTopic>> {
		try {
			return await this.store.summaries();
		} catch (error) {
			console.error('Samen: the stored topics could not be read; opening each to see', error);
			return new Map();
		}
	}

	/** A held topic's state: the open document's own, else as stored; undefined when neither says. */
	private stateOf(topic: string, stored: Map<string, StoredTopic>): DocumentState | undefined {
		const doc = this.docs.get(topic);
		if (doc) return documentState(doc);
		const saved = stored.get(topic);
		return saved?.deletions ? { stateVector: saved.stateVector, deletions: saved.deletions } : undefined;
	}

	/**
	 * Announces every topic shared with the peer that this device holds, with its weight and its
	 * state as stored, opening only the documents an announcement needs: an excerpt's weight, or a
	 * state or weight the store cannot tell. Those are opened a batch at a time, yielding in between.
	 */
	private async offer(attachment: Attachment, progress: PeerProgress): Promise<void> {
		const { verified } = progress;
		const stored = await this.storedOrNothing();
		const known = new Set([...(this.options.knownTopics?.() ?? []), ...this.docs.keys()]);
		const shared = this.ordered([...known].filter((topic) => gives(attachment.share(verified, topic))));
		const weighStored = (topic: string) => this.options.weighStored?.(verified, topic, stored.get(topic)?.description);
		const needed = shared.filter((topic) => {
			if (this.docs.has(topic) || !stored.has(topic)) return false;
			return typeof attachment.share(verified, topic) === 'object' || !stored.get(topic)!.deletions || (!!this.options.weigh && weighStored(topic) === undefined);
		});
		for (let start = 0; start < needed.length; start += OPEN_BATCH) {
			await Promise.all(needed.slice(start, start + OPEN_BATCH).map((topic) => this.open(topic)));
			if (start + OPEN_BATCH < needed.length) await new Promise((resolve) => setTimeout(resolve, 0));
		}
		// The peer may have gone, or the channel been detached, meanwhile.
		if (attachment.progress.get(verified.peer) !== progress) return;
		const announced: TopicToAnnounce[] = [];
		for (const topic of shared) {
			// Asked again: the device list may have changed meanwhile.
			const share = attachment.share(verified, topic);
			const doc = this.docs.get(topic);
			if (!gives(share) || (!doc && !stored.has(topic))) continue;
			const weight = (doc ? this.options.weigh?.(verified, topic, doc) : weighStored(topic)) ?? 0;
			// An excerpt's state is not the document's: the peer asks for it, whatever it holds.
			const state = typeof share === 'object' ? undefined : this.stateOf(topic, stored);
			announced.push({ topic, weight, state: state && isAnnounceable(state) ? state : undefined });
			progress.offered.add(topic);
		}
		attachment.channel.send(verified.peer, writeTopics(announced));
	}

	/**
	 * Takes in what a peer announced: the topics this device lacks something of are asked for
	 * (opened, which asks), newest first; the others count as answered at once. A topic this device
	 * did not hold counts against the peer's MAX_NEW_TOPICS_PER_PEER.
	 */
	private async consider(attachment: Attachment, progress: PeerProgress, topics: AnnouncedTopic[]): Promise<void> {
		const stored = await this.storedOrNothing();
		const { verified } = progress;
		if (attachment.progress.get(verified.peer) !== progress) return;
		const announced = new Map<string, number>();
		const wanted: string[] = [];
		for (const { topic, weight, state } of topics) {
			if (!this.acceptTopic(topic) || attachment.share(verified, topic) === false) {
				// Offered outside what this device takes (its history window): refused, never asked for.
				this.rejectedMessages++;
				continue;
			}
			const ours = this.stateOf(topic, stored);
			if (state && ours && !lacks(decodeState(ours), state)) {
				announced.set(topic, weight);
				if (!progress.answered.has(topic)) {
					progress.answered.add(topic);
					progress.received += weight;
				}
				continue;
			}
			const held = this.docs.has(topic) || this.opening.has(topic) || stored.has(topic);
			if (!held && !this.mayOpenFor(verified, topic)) continue;
			announced.set(topic, weight);
			wanted.push(topic);
		}
		progress.announced = announced;
		for (const topic of this.ordered(wanted)) {
			const doc = this.docs.get(topic);
			// A document opened now asks every peer itself (in `load`).
			if (doc) this.sendStep1(attachment, verified.peer, topic, doc);
			else void this.open(topic);
		}
		this.checkSynced(progress);
		if (!progress.synced) this.emit('progress', undefined);
	}

	/** Whether `peer` may make this device open `topic`, which it does not hold; counts it if so. */
	private mayOpenFor(peer: VerifiedPeer, topic: string): boolean {
		let opened = this.openedFor.get(peer.device);
		if (!opened) this.openedFor.set(peer.device, (opened = new Set()));
		if (opened.has(topic)) return true;
		if (opened.size >= MAX_NEW_TOPICS_PER_PEER) {
			this.refusedTopics++;
			return false;
		}
		opened.add(topic);
		return true;
	}

	/**
	 * Asks every peer that shares `topic` again for what this device lacks of it (a step 1): after
	 * this device refused what a peer sent, once the reason may be gone (a relayed record whose
	 * device list came later).
	 */
	askAgain(topic: string): void {
		const doc = this.docs.get(topic);
		if (!doc) return;
		for (const attachment of this.attachments) {
			for (const peer of attachment.progress.keys()) if (attachment.sharing(peer, topic) !== false) this.sendStep1(attachment, peer, topic, doc);
		}
	}

	private sendStep1(attachment: Attachment, peer: PeerId, topic: string, doc: Y.Doc): void {
		attachment.channel.send(peer, writeSync(topic, (e) => {
			encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep1);
			encoding.writeVarUint8Array(e, Y.encodeStateVector(doc));
		}));
	}

	private async receive(attachment: Attachment, peer: PeerId, data: Uint8Array): Promise<void> {
		let message;
		try {
			message = readSyncMessage(data);
		} catch {
			this.rejectedMessages++;
			return;
		}
		const progress = attachment.progress.get(peer);
		if (!progress) return;
		if (message.type === MESSAGE_TOPICS) {
			void this.consider(attachment, progress, message.topics);
			return;
		}
		const topic = message.topic;
		// Asked once per message: a policy may cost something (it looks at the signed device list).
		const share = this.acceptTopic(topic) ? attachment.share(progress.verified, topic) : false;
		if (share === false) {
			this.rejectedMessages++;
			return;
		}
		let step: { kind: number; payload: Uint8Array };
		try {
			const decoder = decoding.createDecoder(message.body);
			step = { kind: decoding.readVarUint(decoder), payload: decoding.readVarUint8Array(decoder) };
		} catch {
			this.rejectedMessages++;
			return;
		}
		const kinds: number[] = [syncProtocol.messageYjsSyncStep1, syncProtocol.messageYjsSyncStep2, syncProtocol.messageYjsUpdate];
		if (!kinds.includes(step.kind)) {
			this.rejectedMessages++;
			return;
		}
		// A question about a topic this device does not give is not answered, and opens nothing.
		if (step.kind === syncProtocol.messageYjsSyncStep1 && !gives(share)) return;
		const held = this.docs.has(topic) || this.opening.has(topic) || progress.offered.has(topic);
		if (!held && !this.mayOpenFor(progress.verified, topic)) return;
		const empty = step.payload.length === 1 && step.payload[0] === 0;
		if (step.kind === syncProtocol.messageYjsSyncStep1 && share === true && empty && !this.docs.has(topic) && !this.opening.has(topic)) {
			if (await this.answerAsSaved(attachment, peer, topic)) return;
		}
		const doc = await this.openBatched(topic);
		if (step.kind === syncProtocol.messageYjsSyncStep1) {
			let answer: Uint8Array;
			try {
				answer = typeof share === 'object' ? share.excerpt(doc) : encodeIntegrated(doc, step.payload);
			} catch {
				this.rejectedMessages++;
				return;
			}
			attachment.channel.send(peer, writeSync(topic, (e) => {
				encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep2);
				encoding.writeVarUint8Array(e, answer);
			}));
			return;
		}
		if (!this.acceptUpdate(topic, step.payload, progress.verified, doc)) {
			// Refused for good (history outside this device's window): the rest of the sync goes on.
			this.rejectedMessages++;
			if (step.kind === syncProtocol.messageYjsSyncStep2) this.answered(progress, topic);
			// A live update may be refused only for what it follows on and this device lacks (one lost
			// as a room closed): the peer's answer to a step 1 carries the gap and the update together.
			else if (step.kind === syncProtocol.messageYjsUpdate && !progress.askedAgain.has(topic)) {
				progress.askedAgain.add(topic);
				this.sendStep1(attachment, peer, topic, doc);
			}
			return;
		}
		progress.askedAgain.delete(topic);
		// Applied here rather than by y-protocols, which logs what Yjs refuses and carries on as if
		// it had applied: a refused update is counted, and a step 2 that did not apply answers nothing.
		try {
			this.applyFromPeer(topic, doc, step.payload, { attachment, peer });
		} catch {
			this.rejectedMessages++;
			return;
		}
		if (step.kind === syncProtocol.messageYjsSyncStep2) this.answered(progress, topic);
	}

	private answered(progress: PeerProgress, topic: string): void {
		if (progress.answered.has(topic)) return;
		progress.answered.add(topic);
		progress.received += progress.announced?.get(topic) ?? 0;
		this.checkSynced(progress);
		if (!progress.synced) this.emit('progress', undefined);
	}

	private checkSynced(progress: PeerProgress): void {
		if (progress.synced || !progress.announced) return;
		for (const topic of progress.announced.keys()) if (!progress.answered.has(topic)) return;
		progress.synced = true;
		this.emit('peer-synced', progress.verified);
	}
}
