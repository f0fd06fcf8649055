/**
 * One device of one account: its stored identity, the account's documents, and the live
 * connection to the account's other devices. The UI talks to this class and nothing below it.
 */
import * as Y from 'yjs';
import { randomBytes, toBase64Url } from './crypto';
import {
	loadAccountKey,
	mailboxKeyFor,
	newAccountKey,
	accountRoomId,
	sessionKeyFor,
	storeAccountKey,
	type AccountKey,
	type StoredAccountKey
} from './account/keys';
import {
	ACCOUNT_TOPIC,
	chatsMap,
	devicesMap,
	monthsMap,
	profileMap,
	readMap,
	type ChatRecord,
	type DeviceRecord,
	type DeviceRole
} from './account/model';
import {
	compareMessages,
	isChatMessage,
	MAX_MESSAGE_LENGTH,
	messagesMap,
	monthOf,
	monthTopic,
	parseMonthTopic,
	SELF_CHAT_ID,
	type ChatMessage
} from './chat/messages';
import type { DocumentStore, KeyValueStore } from './storage/types';
import { SyncEngine } from './sync/engine';
import { openMailboxEntry, sealMailboxEntry } from './sync/mailbox-protocol';
import { SecureChannel } from './transport/peer-session';
import type { MailboxEntry, Transport, TransportStatus } from './transport/types';
import type { Clock } from './util/clock';
import { Emitter } from './util/emitter';

export interface Platform {
	records: KeyValueStore;
	documents: DocumentStore;
	/** A transport into the rendezvous room `room` (an opaque id). */
	transport(room: string): Transport;
	clock: Clock;
}

export interface DeviceIdentity {
	id: string;
	name: string;
	role: DeviceRole;
}

interface StoredAccount {
	name: string;
	key: StoredAccountKey;
}

/** What a new device receives from the primary when it is linked. */
export interface AccountBundle {
	accountName: string;
	key: StoredAccountKey;
	deviceId: string;
	deviceName: string;
}

export interface ConnectionState {
	/** Whether this device can reach the rendezvous server. */
	network: TransportStatus;
	/** Other devices of the account with a live, authenticated channel. */
	peers: number;
	/** Peers whose history this device has fully received since they met. */
	syncedPeers: number;
}

export type DeviceEvents = { changed: void };

const RECORD_DEVICE = 'device';
const RECORD_ACCOUNT = 'account';

export class MessageError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'MessageError';
	}
}

export function newId(): string {
	return toBase64Url(randomBytes(12));
}

export class Device extends Emitter<DeviceEvents> {
	private readonly engine: SyncEngine;
	private transport?: Transport;
	private channel?: SecureChannel;
	private readonly syncedPeers = new Set<string>();
	private account!: Y.Doc;
	private changeQueued = false;
	/** Local changes no other device has had yet, per topic: what goes to the mailbox. */
	private readonly undelivered = new Map<string, Uint8Array[]>();
	/** Both derive from the account key, which does not change while this object lives. */
	private readonly room: string;
	private readonly mailboxKey: Uint8Array;

	private constructor(
		private readonly platform: Platform,
		readonly identity: DeviceIdentity,
		readonly accountKey: AccountKey
	) {
		super();
		this.room = accountRoomId(accountKey);
		this.mailboxKey = mailboxKeyFor(accountKey);
		this.engine = new SyncEngine(platform.documents, (topic) => topic === ACCOUNT_TOPIC || !!parseMonthTopic(topic));
		this.engine.on('changed', () => this.changed());
		this.engine.on('peers-changed', (peers) => {
			for (const peer of this.syncedPeers) if (!peers.includes(peer)) this.syncedPeers.delete(peer);
			this.changed();
		});
		this.engine.on('peer-synced', (peer) => {
			this.syncedPeers.add(peer);
			// Another device now holds everything this one had: nothing is left to deliver.
			this.undelivered.clear();
			this.changed();
		});
		this.engine.on('local-update', ({ topic, update }) => {
			const updates = this.undelivered.get(topic) ?? [];
			updates.push(update);
			this.undelivered.set(topic, updates);
			this.depositIfAlone();
		});
	}

	/** The device as it was saved, or undefined when this device holds no account. */
	static async restore(platform: Platform): Promise<Device | undefined> {
		const identity = await platform.records.get<DeviceIdentity>(RECORD_DEVICE);
		const account = await platform.records.get<StoredAccount>(RECORD_ACCOUNT);
		if (!identity || !account) return undefined;
		const device = new Device(platform, identity, loadAccountKey(account.key));
		await device.openDocuments();
		return device;
	}

	static async createAccount(platform: Platform, accountName: string, deviceName: string): Promise<Device> {
		const identity: DeviceIdentity = { id: newId(), name: deviceName, role: 'primary' };
		const key = newAccountKey();
		await platform.records.set<StoredAccount>(RECORD_ACCOUNT, { name: accountName, key: storeAccountKey(key) });
		await platform.records.set(RECORD_DEVICE, identity);
		const device = new Device(platform, identity, key);
		await device.openDocuments();
		const now = platform.clock();
		device.account.transact(() => {
			profileMap(device.account).set('name', accountName);
			devicesMap(device.account).set(identity.id, { ...identity, linkedAt: now });
			chatsMap(device.account).set(SELF_CHAT_ID, { id: SELF_CHAT_ID, title: '', kind: 'self', createdAt: now });
		});
		return device;
	}

	/** Becomes a companion of the account that `bundle` describes; its history arrives by sync. */
	static async joinAccount(platform: Platform, bundle: AccountBundle): Promise<Device> {
		const identity: DeviceIdentity = { id: bundle.deviceId, name: bundle.deviceName, role: 'companion' };
		const key = loadAccountKey(bundle.key);
		await platform.records.set<StoredAccount>(RECORD_ACCOUNT, { name: bundle.accountName, key: bundle.key });
		await platform.records.set(RECORD_DEVICE, identity);
		const device = new Device(platform, identity, key);
		await device.openDocuments();
		return device;
	}

	private async openDocuments(): Promise<void> {
		this.account = await this.engine.open(ACCOUNT_TOPIC);
		const months = monthsMap(this.account);
		months.observe((event) => {
			for (const topic of event.keysChanged) if (months.has(topic)) void this.engine.open(topic);
		});
		await Promise.all([...months.keys()].map((topic) => this.engine.open(topic)));
	}

	/** Joins the account's room and syncs with every device found there, until `close`. */
	connect(): void {
		if (this.transport) return;
		this.transport = this.platform.transport(this.room);
		this.channel = new SecureChannel(this.transport, sessionKeyFor(this.accountKey));
		this.engine.attach(this.channel);
		this.transport.on('status', (status) => {
			if (status === 'online') this.depositIfAlone();
			this.changed();
		});
		this.transport.on('mailbox', (entries) => void this.takeFromMailbox(entries));
		this.transport.connect();
	}

	/** With no other device connected, leaves this device's undelivered changes in the mailbox. */
	private depositIfAlone(): void {
		const transport = this.transport;
		if (!transport?.mailbox || transport.status !== 'online' || this.engine.peers.length > 0 || this.undelivered.size === 0) return;
		for (const [topic, updates] of this.undelivered) {
			transport.mailbox.deposit({ id: newId(), data: sealMailboxEntry(this.mailboxKey, this.room, topic, Y.mergeUpdates(updates)) });
		}
		this.undelivered.clear();
	}

	private async takeFromMailbox(entries: MailboxEntry[]): Promise<void> {
		for (const entry of entries) {
			let applied = false;
			try {
				const { topic, update } = openMailboxEntry(this.mailboxKey, this.room, entry.data);
				// The engine refuses topics outside the account's and updates that do not parse.
				applied = await this.engine.applyUpdate(topic, update);
			} catch {
				// Sealed under another key, or tampered with: applied stays false.
			}
			// An entry that cannot be applied now never will be, so it is taken all the same.
			if (!applied) this.mailboxRejected++;
		}
		this.transport?.mailbox?.take(entries.map((entry) => entry.id));
	}

	disconnect(): void {
		this.engine.detach();
		this.channel?.close();
		this.transport?.close();
		this.channel = undefined;
		this.transport = undefined;
		this.changed();
	}

	async close(): Promise<void> {
		this.disconnect();
		await this.engine.close();
	}

	get connection(): ConnectionState {
		return {
			network: this.transport?.status ?? 'offline',
			peers: this.engine.peers.length,
			syncedPeers: this.syncedPeers.size
		};
	}

	/** Mailbox entries that could not be opened or applied. */
	mailboxRejected = 0;

	get rejectedFrames(): number {
		return (this.channel?.rejectedFrames ?? 0) + this.engine.rejectedMessages;
	}

	get accountName(): string {
		return profileMap(this.account).get('name') ?? '';
	}

	get devices(): DeviceRecord[] {
		return [...devicesMap(this.account).values()].sort((a, b) => a.linkedAt - b.linkedAt);
	}

	/** Adds a device to the account's device list; the primary does this when it links one. */
	addDevice(record: DeviceRecord): void {
		devicesMap(this.account).set(record.id, record);
	}

	get chats(): ChatRecord[] {
		const chats = [...chatsMap(this.account).values()];
		const last = (chat: ChatRecord) => this.messages(chat.id).at(-1)?.sentAt ?? chat.createdAt;
		return chats.sort((a, b) => last(b) - last(a));
	}

	chat(chatId: string): ChatRecord | undefined {
		return chatsMap(this.account).get(chatId);
	}

	messages(chatId: string): ChatMessage[] {
		const result: ChatMessage[] = [];
		for (const topic of monthsMap(this.account).keys()) {
			if (parseMonthTopic(topic)?.chatId !== chatId) continue;
			const doc = this.engine.doc(topic);
			if (!doc) continue;
			for (const value of messagesMap(doc).values()) if (isChatMessage(value, chatId)) result.push(value);
		}
		return result.sort(compareMessages);
	}

	async sendMessage(chatId: string, text: string): Promise<ChatMessage> {
		const trimmed = text.trim();
		if (!trimmed) throw new MessageError('empty');
		if (trimmed.length > MAX_MESSAGE_LENGTH) throw new MessageError('too-long');
		if (!this.chat(chatId)) throw new MessageError('no-such-chat');
		const sentAt = this.platform.clock();
		const message: ChatMessage = { id: newId(), chatId, author: this.identity.id, text: trimmed, sentAt };
		const topic = monthTopic(chatId, monthOf(sentAt));
		const doc = await this.engine.open(topic);
		messagesMap(doc).set(message.id, message);
		if (!monthsMap(this.account).has(topic)) monthsMap(this.account).set(topic, true);
		this.markRead(chatId, sentAt);
		return message;
	}

	/** Unread messages of `chatId` for this account: written by others after every device's read mark. */
	unreadCount(chatId: string): number {
		const readUpTo = this.readUpTo(chatId);
		return this.messages(chatId).filter((m) => m.sentAt > readUpTo && m.author !== this.identity.id).length;
	}

	/** Read state is the account's: a chat read on one device is read on all. */
	readUpTo(chatId: string): number {
		let latest = 0;
		for (const [key, time] of readMap(this.account)) {
			if (key.startsWith(`${chatId}/`) && time > latest) latest = time;
		}
		return latest;
	}

	markRead(chatId: string, upTo = this.messages(chatId).at(-1)?.sentAt ?? 0): void {
		const key = `${chatId}/${this.identity.id}`;
		if ((readMap(this.account).get(key) ?? 0) < upTo) readMap(this.account).set(key, upTo);
	}

	/** Coalesces bursts of changes into one notification per task. */
	private changed(): void {
		if (this.changeQueued) return;
		this.changeQueued = true;
		queueMicrotask(() => {
			this.changeQueued = false;
			this.emit('changed', undefined);
		});
	}
}
