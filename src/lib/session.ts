/**
 * One device of one account, as the screens use it: wires the device's keys and the account's trust
 * (identity/), the documents and their sync (sync/), the chats (chats/), the rooms of the key
 * epochs with their peer sessions (transport/) and mailboxes (mailbox/). Each of those owns its
 * rules; this file only connects them and runs the device's timers.
 */
import type * as Y from 'yjs';
import { ACCOUNT_TOPIC, activityMap, isDeviceName, leavingMap, namesMap, profileMap } from './account/document';
import { Chats } from './chats/chats';
import { parseMonthTopic } from './chats/messages';
import { concatBytes, fromBase64Url, toBase64Url } from './crypto';
import {
	AccountTrust,
	MAX_LINKED_DEVICES,
	type AbsenceState,
	type DeviceNotice,
	type DeviceRequest,
	type LogoutReason,
	type SecurityEvent
} from './identity/account-trust';
import { generateDeviceKeys, loadDeviceKeys, storeDeviceKeys, type DeviceKeys, type StoredDeviceKeys } from './identity/device-keys';
import type { EpochKeys } from './identity/epochs';
import { Outbox } from './mailbox/outbox';
import { RoomMailbox } from './mailbox/room-mailbox';
import { MAX_DEVICE_NAME_LENGTH, type DeviceKind, type DeviceRole, type ListedDevice } from './protocol/trust';
import type { DocumentStore, KeyValueStore } from './storage/types';
import { SyncEngine } from './sync/engine';
import { SecureChannel, type SessionPolicy } from './transport/peer-session';
import type { RoomAuth, Transport, TransportStatus } from './transport/types';
import type { Clock } from './util/clock';
import { Emitter } from './util/emitter';

export interface Platform {
	records: KeyValueStore;
	documents: DocumentStore;
	/**
	 * A transport into the rendezvous room `room` (an opaque id); with the room's `auth`, one whose
	 * mailbox deposits and takes the server accepts.
	 */
	transport(room: string, auth?: RoomAuth): Transport;
	clock: Clock;
	/** Deletes what this device keeps outside `records` and `documents` (browser caches, offline copy). */
	wipe?(): Promise<void>;
}

/** A device of the account as the screens show it. */
export interface DeviceView {
	id: string;
	name: string;
	kind: DeviceKind;
	role: DeviceRole;
	linkedAt: number;
	lastActive?: number;
	isSelf: boolean;
}

export interface ConnectionState {
	/** Whether this device can reach the rendezvous server. */
	network: TransportStatus;
	/** Other devices of the account with a live, verified channel. */
	peers: number;
	/** Peers whose history this device has fully received since they met. */
	syncedPeers: number;
	/** Changes some device of the account may not have yet, neither sent to it nor left in the mailbox. */
	undelivered: boolean;
	/** This device holds what the others left for it: a connected device synced with it, or, alone, the mailbox handled. */
	historySynced: boolean;
}

/** What a new device takes from a finished link handshake. */
export interface JoinedAccount {
	keys: DeviceKeys;
	accountName: string;
	deviceList: Uint8Array;
	heartbeat: Uint8Array;
}

/** What the primary's side of a link handshake needs from the session. */
export interface LinkAuthority {
	readonly isPrimary: boolean;
	readonly isFull: boolean;
	readonly accountName: string;
	/** Puts the device on a new signed list; throws LinkRefusal. */
	linkDevice(request: DeviceRequest): { deviceList: Uint8Array; device: ListedDevice };
	freshHeartbeat(): Uint8Array;
	removeDevice(id: string): void;
}

export type SessionEvents = { changed: void; 'logged-out': LogoutReason };

const RECORD_DEVICE_KEYS = 'device-keys';
const ACTIVITY_INTERVAL_MS = 60 * 60 * 1000;
const CHECK_INTERVAL_MS = 60 * 1000;
/** How long a companion that logs itself out waits for its leaving note to reach the mailbox. */
const LEAVING_DEPOSIT_TIMEOUT_MS = 10_000;
/** How long changes gather before they are deposited together. */
const DEPOSIT_DELAY_MS = 50;
/** Time for the last messages (a new device list, a leaving note) to leave before a device wipes itself. */
const DELETE_GRACE_MS = 1500;

/** One epoch room: its transport, its peer sessions and its mailbox. */
interface RoomConnection {
	keys: EpochKeys;
	transport: Transport;
	channel: SecureChannel;
	mailbox: RoomMailbox;
	detachSync?: () => void;
}

export class Session extends Emitter<SessionEvents> implements LinkAuthority {
	private readonly engine: SyncEngine;
	private account!: Y.Doc;
	readonly chats!: Chats;
	private current?: RoomConnection;
	private handover: RoomConnection[] = [];
	/** Peers (by peer id) that sent this device everything they had, and the devices they are. */
	private readonly syncedPeers = new Map<string, string>();
	private outbox!: Outbox;
	private depositTimer?: ReturnType<typeof setTimeout>;
	/** The deposit under way, if any. */
	private deposit?: Promise<boolean>;
	private changeQueued = false;
	private checkTimer?: ReturnType<typeof setInterval>;
	private connected = false;
	private wiped = false;
	private leaving = false;
	/** Why this device was logged out, once it was; its storage is empty then. */
	loggedOut?: LogoutReason;

	/** From the moment this device starts deleting its storage (a logout) until the end. */
	get wiping(): boolean {
		return this.wiped && !this.loggedOut;
	}

	private constructor(
		private readonly platform: Platform,
		readonly keys: DeviceKeys,
		readonly trust: AccountTrust
	) {
		super();
		this.engine = new SyncEngine(platform.documents, (topic) => topic === ACCOUNT_TOPIC || !!parseMonthTopic(topic));
		this.engine.on('changed', () => this.changed());
		this.engine.on('peers-changed', (peers) => {
			for (const peer of this.syncedPeers.keys()) if (!peers.some((p) => p.peer === peer)) this.syncedPeers.delete(peer);
			this.scheduleDeposit();
			this.changed();
		});
		this.engine.on('peer-synced', ({ peer, device }) => {
			this.syncedPeers.set(peer, device);
			if (this.everyDeviceSynced()) this.outbox.clear();
			this.changed();
		});
		this.engine.on('local-update', ({ topic, update }) => {
			const doc = this.engine.doc(topic);
			if (doc) this.outbox.owe(topic, doc, update);
			this.scheduleDeposit();
			this.changed();
		});
		trust.on('changed', () => this.trustChanged());
		trust.on('shown', () => this.changed());
		// A companion that left by itself may hear of its removal first: it still left by itself.
		trust.on('logged-out', (reason) => void this.wipe(this.leaving ? 'self' : reason));
	}

	/** The session as it was saved, or undefined when this device holds no account. */
	static async restore(platform: Platform): Promise<Session | undefined> {
		const stored = await platform.records.get<StoredDeviceKeys>(RECORD_DEVICE_KEYS);
		if (!stored) return undefined;
		const keys = loadDeviceKeys(stored);
		const trust = await AccountTrust.restore(platform.records, keys, platform.clock);
		if (!trust) return undefined;
		const session = new Session(platform, keys, trust);
		await session.open();
		if (trust.loggedOut) await session.wipe(trust.loggedOut);
		else session.check();
		return session;
	}

	static async createAccount(platform: Platform, accountName: string, deviceName: string, kind: DeviceKind = 'computer'): Promise<Session> {
		const keys = generateDeviceKeys();
		await platform.records.set(RECORD_DEVICE_KEYS, storeDeviceKeys(keys));
		const trust = await AccountTrust.create(platform.records, keys, platform.clock, deviceName, kind);
		const session = new Session(platform, keys, trust);
		await session.open();
		session.account.transact(() => {
			profileMap(session.account).set('name', accountName);
			Chats.seed(session.account, platform.clock());
		});
		return session;
	}

	/** Becomes a companion of the account a finished link handshake described; history follows by sync. */
	static async join(platform: Platform, joined: JoinedAccount): Promise<Session> {
		const trust = await AccountTrust.join(platform.records, joined.keys, platform.clock, joined.deviceList, joined.heartbeat);
		await platform.records.set(RECORD_DEVICE_KEYS, storeDeviceKeys(joined.keys));
		const session = new Session(platform, joined.keys, trust);
		await session.open();
		return session;
	}

	private async open(): Promise<void> {
		this.outbox = await Outbox.load(this.platform.records);
		this.account = await this.engine.open(ACCOUNT_TOPIC);
		(this as { chats: Chats }).chats = new Chats(this.account, this.engine, this.keys.id, this.platform.clock);
		await this.chats.openAll();
		if (this.trust.isPrimary) {
			leavingMap(this.account).observe(() => this.removeLeavingDevices());
			this.removeLeavingDevices();
		}
	}

	/** On the primary: companions that logged themselves out come off the list. */
	private removeLeavingDevices(): void {
		const leaving: string[] = [];
		for (const [id, note] of leavingMap(this.account)) {
			if (typeof note !== 'string' || !this.trust.deviceList.devices.some((device) => device.id === id)) continue;
			let bytes: Uint8Array;
			try {
				bytes = fromBase64Url(note);
			} catch {
				continue;
			}
			if (this.trust.leavingDevice(bytes, id)) leaving.push(id);
		}
		if (leaving.length > 0) this.trust.removeDevices(leaving);
	}

	/** Joins the account's rooms and syncs with every device found there, until `disconnect`. */
	connect(): void {
		if (this.connected || this.wiped) return;
		this.connected = true;
		this.current = this.openRoom(this.trust.currentEpoch, true);
		this.handover = this.trust.handoverEpochs.map((keys) => this.openRoom(keys, false));
		this.checkTimer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
		this.check();
		this.changed();
	}

	private openRoom(keys: EpochKeys, syncs: boolean): RoomConnection {
		const transport = this.platform.transport(keys.room, keys.roomAuth);
		const channel = new SecureChannel(transport, this.sessionPolicy(keys));
		// Whether this is the current epoch's room is asked each time: a room becomes a former epoch's
		// while it is open, and from then on nothing there is applied (a removed device may write there).
		const isCurrent = () => keys.epoch === this.trust.currentEpoch.epoch;
		const mailbox = new RoomMailbox(
			transport,
			keys,
			{
				update: (topic, update) => (isCurrent() ? this.applyFromMailbox(topic, update) : Promise.resolve(false)),
				introduction: (introduction) => this.trust.consider(introduction),
				caughtUp: () => this.changed()
			},
			isCurrent
		);
		const room: RoomConnection = { keys, transport, channel, mailbox };
		if (syncs) room.detachSync = this.engine.attach(channel, (peer) => peer.account === this.trust.accountId);
		const online = () => {
			// A former epoch's room keeps the newest list for devices that were away.
			if (!isCurrent() || this.trust.isPrimary) mailbox.depositIntroduction(this.trust.introduction());
			if (isCurrent()) this.scheduleDeposit();
		};
		transport.on('status', (status) => {
			if (status === 'online') online();
			this.changed();
		});
		transport.connect();
		// A room opened while this device is already online (a new epoch) hears no 'online'.
		if (transport.status === 'online') queueMicrotask(online);
		return room;
	}

	private sessionPolicy(keys: EpochKeys): SessionPolicy {
		return {
			staticKeys: this.keys.agreement,
			psk: keys.sessionPsk,
			prologue: concatBytes(new TextEncoder().encode('samen/v1/session'), new TextEncoder().encode(keys.room)),
			introduction: () => this.trust.introduction(),
			admit: (_peer, remoteStaticKey, introduction) => {
				this.trust.consider(introduction, 'peer');
				if (this.trust.loggedOut) return undefined;
				const device = this.trust.deviceByAgreementKey(remoteStaticKey);
				if (!device || device.id === this.keys.id) {
					this.trust.noteUnlistedDevice();
					return undefined;
				}
				return { account: this.trust.accountId, device: device.id };
			}
		};
	}

	private closeRoom(room: RoomConnection): void {
		room.detachSync?.();
		room.mailbox.close();
		room.channel.close();
		room.transport.close();
	}

	/** The device list, the epoch or the heartbeat changed: tell every peer; move to a new epoch's room. */
	private trustChanged(): void {
		this.changed();
		if (!this.connected || this.wiped) return;
		const introduction = this.trust.introduction();
		const current = this.current;
		for (const room of [current, ...this.handover]) room?.channel.reintroduce();
		if (current && current.keys.epoch !== this.trust.currentEpoch.epoch) {
			// The former room stays open as a handover room: devices that were away learn the new list there.
			current.detachSync?.();
			current.detachSync = undefined;
			current.mailbox.depositIntroduction(introduction);
			queueMicrotask(() => {
				if (!this.connected || this.wiped) return;
				const wanted = new Set(this.trust.handoverEpochs.map((keys) => keys.epoch));
				const keep = [current, ...this.handover].filter((room) => wanted.has(room.keys.epoch));
				for (const room of [current, ...this.handover]) if (!keep.includes(room)) this.closeRoom(room);
				this.handover = keep;
				this.current = this.openRoom(this.trust.currentEpoch, true);
				this.changed();
			});
		} else if (this.trust.isPrimary) {
			current?.mailbox.depositIntroduction(introduction);
		}
	}

	/** What this device takes from the mailbox, it owes the devices still away: it deposits it again. */
	private async applyFromMailbox(topic: string, update: Uint8Array): Promise<boolean> {
		const applied = await this.engine.applyUpdate(topic, update);
		const doc = this.engine.doc(topic);
		if (applied && doc) {
			this.outbox.owe(topic, doc, update);
			this.scheduleDeposit();
		}
		return applied;
	}

	/** Whether every other listed device is connected and has had everything this device had. */
	private everyDeviceSynced(): boolean {
		const synced = new Set(this.syncedPeers.values());
		return this.trust.deviceList.devices.every((device) => device.id === this.keys.id || synced.has(device.id));
	}

	/** Deposits what is owed now rather than after the gathering delay (the app is being hidden or closed). */
	depositNow(): void {
		clearTimeout(this.depositTimer);
		this.depositTimer = undefined;
		void this.depositOwed().then((stored) => stored && this.scheduleDeposit());
	}

	/** Gathers bursts of changes into one deposit. */
	private scheduleDeposit(): void {
		if (this.depositTimer !== undefined || this.outbox.isEmpty) return;
		this.depositTimer = setTimeout(() => {
			this.depositTimer = undefined;
			// Changes made while a deposit was under way go in the next one.
			void this.depositOwed().then((stored) => stored && this.scheduleDeposit());
		}, DEPOSIT_DELAY_MS);
	}

	/**
	 * While any device of the account is away, leaves what this device owes in the mailbox: each
	 * document's changes since it was last delivered, whoever wrote them.
	 */
	/** Deposits what is owed; while a deposit is under way, resolves with that one. True when all was stored. */
	private depositOwed(): Promise<boolean> {
		if (this.deposit) return this.deposit;
		const mailbox = this.current?.mailbox;
		if (!mailbox?.online || this.outbox.isEmpty) return Promise.resolve(this.outbox.isEmpty);
		this.deposit = this.depositEach(mailbox).finally(() => {
			this.deposit = undefined;
		});
		return this.deposit;
	}

	/** A refused deposit stays owed: shown as waiting, tried again on the next timer or change. */
	private async depositEach(mailbox: RoomMailbox): Promise<boolean> {
		if (this.everyDeviceSynced()) {
			this.outbox.clear();
			this.changed();
			return true;
		}
		for (const topic of this.outbox.topics) {
			const doc = await this.engine.open(topic);
			const { update, vector } = this.outbox.pending(topic, doc);
			if (!(await mailbox.depositUpdate(topic, update))) return false;
			this.outbox.delivered(topic, doc, vector);
			this.changed();
			// One document at a time: a long history is encoded without freezing the screen.
			await new Promise((resolve) => setTimeout(resolve, 0));
		}
		return true;
	}

	/** The device's timers: heartbeat on the primary, the 14-day rule on companions, last activity. */
	check(): void {
		if (this.wiped) return;
		if (this.trust.isPrimary) this.trust.writeHeartbeat();
		else this.trust.absence();
		if (this.trust.loggedOut) return;
		this.scheduleDeposit();
		const now = this.platform.clock();
		const activity = activityMap(this.account);
		const last = activity.get(this.keys.id);
		if (typeof last !== 'number' || now - last >= ACTIVITY_INTERVAL_MS || now < last) activity.set(this.keys.id, now);
		this.changed();
	}

	disconnect(): void {
		if (!this.connected) return;
		this.connected = false;
		clearInterval(this.checkTimer);
		clearTimeout(this.depositTimer);
		this.depositTimer = undefined;
		for (const room of [this.current, ...this.handover]) if (room) this.closeRoom(room);
		this.current = undefined;
		this.handover = [];
		this.changed();
	}

	/** Leaves what this device owes in the mailbox (when it can), then closes. */
	async close(): Promise<void> {
		clearTimeout(this.depositTimer);
		this.depositTimer = undefined;
		// What is owed leaves before the connection closes: a deposit under way first, then the rest.
		if (this.connected && !this.wiped) {
			for (let round = 0; round < 3 && !this.outbox.isEmpty; round++) {
				if (!(await this.depositOwed())) break;
			}
		}
		this.disconnect();
		await this.engine.close();
		await this.outbox.flushed();
	}

	/** Deletes every key and message this device holds; the screens then show why. */
	private async wipe(reason: LogoutReason): Promise<void> {
		if (this.wiped) return;
		this.wiped = true;
		this.disconnect();
		await this.trust.retire();
		await this.engine.close();
		await this.platform.documents.clear();
		await this.platform.records.clear();
		await this.platform.wipe?.();
		this.loggedOut = reason;
		this.emit('logged-out', reason);
		this.changed();
	}

	/**
	 * On a companion: leaves the account, leaving a signed note that frees its slot on the primary
	 * (delivered like any change: to a connected device, or through the mailbox). On the primary:
	 * deletes the account (see `deleteAccount`).
	 */
	async logOut(): Promise<void> {
		if (this.trust.isPrimary) return this.deleteAccount();
		this.leaving = true;
		leavingMap(this.account).set(this.keys.id, toBase64Url(this.trust.leavingNote()));
		// Connected devices get the note by sync; for those away it goes to the mailbox, acknowledged.
		clearTimeout(this.depositTimer);
		this.depositTimer = undefined;
		await Promise.all([
			Promise.race([this.depositOwed(), new Promise((resolve) => setTimeout(resolve, LEAVING_DEPOSIT_TIMEOUT_MS))]),
			new Promise((resolve) => setTimeout(resolve, DELETE_GRACE_MS))
		]);
		this.trust.logOut('self');
	}

	/** On the primary: tells every device the account is gone, then wipes this one. */
	async deleteAccount(): Promise<void> {
		if (!this.trust.isPrimary) return;
		if (this.trust.deviceList.devices.length > 1) {
			this.trust.deleteAccount();
			await new Promise((resolve) => setTimeout(resolve, DELETE_GRACE_MS));
		}
		this.trust.logOut('account-deleted');
	}

	// --- the account's devices ---

	get isPrimary(): boolean {
		return this.trust.isPrimary;
	}

	get isFull(): boolean {
		return this.trust.deviceList.devices.length - 1 >= MAX_LINKED_DEVICES;
	}

	get accountName(): string {
		return profileMap(this.account).get('name') ?? '';
	}

	get self(): DeviceView {
		return this.devices.find((device) => device.isSelf)!;
	}

	/** The listed devices, the primary first, then in the order they were linked. */
	get devices(): DeviceView[] {
		const names = namesMap(this.account);
		const activity = activityMap(this.account);
		return this.trust.deviceList.devices
			.map((device) => {
				const renamed = names.get(device.id);
				const lastActive = activity.get(device.id);
				return {
					id: device.id,
					name: isDeviceName(renamed) ? renamed : device.name,
					kind: device.kind,
					role: device.role,
					linkedAt: device.linkedAt,
					lastActive: typeof lastActive === 'number' ? lastActive : undefined,
					isSelf: device.id === this.keys.id
				};
			})
			.sort((a, b) => (a.role === b.role ? a.linkedAt - b.linkedAt : a.role === 'primary' ? -1 : 1));
	}

	/** The name of the device that wrote something: listed, or logged out earlier, or unknown. */
	deviceName(id: string): string | undefined {
		return this.devices.find((device) => device.id === id)?.name ?? this.trust.deviceList.former.find((device) => device.id === id)?.name;
	}

	/** Any device of the account may rename any listed device; names are shown, never trusted. */
	renameDevice(id: string, name: string): void {
		const trimmed = name.trim().slice(0, MAX_DEVICE_NAME_LENGTH);
		if (!trimmed || !this.trust.deviceList.devices.some((device) => device.id === id)) return;
		namesMap(this.account).set(id, trimmed);
	}

	/** On the primary: logs a device out; the remaining devices move to a new key epoch. */
	removeDevice(id: string): void {
		this.trust.removeDevices([id]);
	}

	linkDevice(request: DeviceRequest): { deviceList: Uint8Array; device: ListedDevice } {
		return this.trust.linkDevice(request);
	}

	freshHeartbeat(): Uint8Array {
		return this.trust.freshHeartbeat();
	}

	/** Devices linked since this device last looked at the device list. */
	get notices(): DeviceNotice[] {
		return this.trust.notices;
	}

	markNoticesSeen(): void {
		this.trust.markNoticesSeen();
	}

	get securityEvents(): SecurityEvent[] {
		return this.trust.securityEvents;
	}

	/** How long this companion has gone without its primary (day 12 on: a warning). */
	get absence(): AbsenceState {
		return this.trust.absence(false);
	}

	// --- connection ---

	get connection(): ConnectionState {
		return {
			network: this.current?.transport.status ?? 'offline',
			// Two tabs of one device are one device.
			peers: new Set(this.engine.peers.map((peer) => peer.device)).size,
			syncedPeers: new Set(this.syncedPeers.values()).size,
			undelivered: !this.outbox.isEmpty,
			historySynced: this.syncedPeers.size > 0 || (this.engine.peers.length === 0 && !!this.current?.mailbox.caughtUp)
		};
	}

	get rejectedFrames(): number {
		let frames = this.engine.rejectedMessages;
		for (const room of [this.current, ...this.handover]) frames += room?.channel.rejectedFrames ?? 0;
		return frames;
	}

	get mailboxRejected(): number {
		return this.current?.mailbox.rejected ?? 0;
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
