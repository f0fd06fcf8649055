/**
 * Keeps a set of Y.Docs (one per topic) in sync with every authenticated peer and in storage.
 * The wire format is in ./protocol.ts; the channel below it seals and authenticates.
 */
import * as syncProtocol from 'y-protocols/sync';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import type { DocumentStore } from '../storage/types';
import type { PeerId } from '../transport/types';
import { Emitter } from '../util/emitter';
import { MESSAGE_TOPICS, readSyncMessage, writeSync, writeTopics } from './protocol';

/** What the engine needs of the channel: authenticated peers and sealed messages. */
export interface SyncChannel {
	readonly authenticatedPeers: PeerId[];
	send(peer: PeerId, data: Uint8Array): void;
	on(event: 'authenticated' | 'closed', listener: (peer: PeerId) => void): () => void;
	on(event: 'message', listener: (message: { peer: PeerId; data: Uint8Array }) => void): () => void;
}

export type SyncEngineEvents = {
	/** A document was opened, by this device or because a peer offered it. */
	'topic-opened': string;
	/** A document changed, from here or from a peer. */
	changed: { topic: string; local: boolean };
	/** A change made on this device, as a Yjs update. */
	'local-update': { topic: string; update: Uint8Array };
	/** This device has had everything the peer announced when they met. */
	'peer-synced': PeerId;
	'peers-changed': PeerId[];
};

/** The origin of updates that arrived through the mailbox rather than from a peer. */
export const FROM_MAILBOX = Symbol('mailbox');

interface PeerProgress {
	announced?: Set<string>;
	answered: Set<string>;
	synced: boolean;
}

export class SyncEngine extends Emitter<SyncEngineEvents> {
	private readonly docs = new Map<string, Y.Doc>();
	private readonly opening = new Map<string, Promise<Y.Doc>>();
	private readonly progress = new Map<PeerId, PeerProgress>();
	private readonly unsubscribe: (() => void)[] = [];
	private channel?: SyncChannel;
	/** Messages dropped because they were malformed or named a topic this device refuses. */
	rejectedMessages = 0;

	constructor(
		private readonly store: DocumentStore,
		/** Decides which topics a peer may make this device open. */
		private readonly acceptTopic: (topic: string) => boolean = () => true
	) {
		super();
	}

	/** Starts exchanging with the peers of `channel`; a new channel replaces the previous one. */
	attach(channel: SyncChannel): void {
		this.detach();
		this.channel = channel;
		this.unsubscribe.push(
			channel.on('authenticated', (peer) => this.greet(peer)),
			channel.on('closed', (peer) => {
				this.progress.delete(peer);
				this.emit('peers-changed', this.peers);
			}),
			channel.on('message', ({ peer, data }) => void this.receive(peer, data))
		);
		for (const peer of channel.authenticatedPeers) this.greet(peer);
	}

	detach(): void {
		for (const stop of this.unsubscribe.splice(0)) stop();
		this.channel = undefined;
		this.progress.clear();
		this.emit('peers-changed', []);
	}

	get peers(): PeerId[] {
		return [...this.progress.keys()];
	}

	get topics(): string[] {
		return [...this.docs.keys()];
	}

	isSyncedWith(peer: PeerId): boolean {
		return this.progress.get(peer)?.synced ?? false;
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

	async close(): Promise<void> {
		this.detach();
		await Promise.allSettled(this.opening.values());
		for (const doc of this.docs.values()) doc.destroy();
		this.docs.clear();
		this.opening.clear();
		await this.store.close();
	}

	private async load(topic: string): Promise<Y.Doc> {
		// gc off: deletions are rare here and a collected item cannot be re-sent to a peer that lacks it.
		const doc = new Y.Doc({ gc: false });
		await this.store.bind(topic, doc);
		doc.on('update', (update: Uint8Array, origin: unknown) => {
			for (const peer of this.peers) {
				if (peer !== origin) this.channel?.send(peer, writeSync(topic, (e) => syncProtocol.writeUpdate(e, update)));
			}
			// Changes made here carry no origin; a peer's carry its id, the mailbox's FROM_MAILBOX.
			const local = origin === null || origin === undefined;
			this.emit('changed', { topic, local });
			if (local) this.emit('local-update', { topic, update });
		});
		this.docs.set(topic, doc);
		this.emit('topic-opened', topic);
		for (const peer of this.peers) this.sendStep1(peer, topic, doc);
		return doc;
	}

	/** Applies an update that did not come over a channel (the mailbox); false if it is not valid. */
	async applyUpdate(topic: string, update: Uint8Array): Promise<boolean> {
		if (!this.acceptTopic(topic)) return false;
		const doc = await this.open(topic);
		try {
			Y.applyUpdate(doc, update, FROM_MAILBOX);
			return true;
		} catch {
			this.rejectedMessages++;
			return false;
		}
	}

	private greet(peer: PeerId): void {
		if (!this.channel) return;
		this.progress.set(peer, { answered: new Set(), synced: false });
		this.emit('peers-changed', this.peers);
		this.channel.send(peer, writeTopics(this.topics));
		for (const [topic, doc] of this.docs) this.sendStep1(peer, topic, doc);
	}

	private sendStep1(peer: PeerId, topic: string, doc: Y.Doc): void {
		this.channel?.send(peer, writeSync(topic, (e) => syncProtocol.writeSyncStep1(e, doc)));
	}

	private async receive(peer: PeerId, data: Uint8Array): Promise<void> {
		let message;
		try {
			message = readSyncMessage(data);
		} catch {
			this.rejectedMessages++;
			return;
		}
		const progress = this.progress.get(peer);
		if (!progress) return;
		if (message.type === MESSAGE_TOPICS) {
			progress.announced = new Set(message.topics.filter(this.acceptTopic));
			for (const topic of progress.announced) void this.open(topic);
			this.checkSynced(peer, progress);
			return;
		}
		if (!this.acceptTopic(message.topic)) {
			this.rejectedMessages++;
			return;
		}
		const doc = await this.open(message.topic);
		const reply = encoding.createEncoder();
		let kind: number;
		try {
			kind = syncProtocol.readSyncMessage(decoding.createDecoder(message.body), reply, doc, peer);
		} catch {
			this.rejectedMessages++;
			return;
		}
		if (encoding.length(reply) > 0) {
			const body = encoding.toUint8Array(reply);
			this.channel?.send(peer, writeSync(message.topic, (e) => encoding.writeUint8Array(e, body)));
		}
		if (kind === syncProtocol.messageYjsSyncStep2) {
			progress.answered.add(message.topic);
			this.checkSynced(peer, progress);
		}
	}

	private checkSynced(peer: PeerId, progress: PeerProgress): void {
		if (progress.synced || !progress.announced) return;
		for (const topic of progress.announced) if (!progress.answered.has(topic)) return;
		progress.synced = true;
		this.emit('peer-synced', peer);
	}
}
