/**
 * One device of one account, as the screens use it: wires the device's keys and the account's trust
 * (identity/), the documents and their sync (sync/), the chats (chats/), the rooms of the key
 * epochs with their peer sessions (transport/) and mailboxes (mailbox/). Each of those owns its
 * rules; this file only connects them and runs the device's timers.
 */
import type * as Y from 'yjs';
import { ACCOUNT_TOPIC, activityMap, isDeviceName, leavingMap, monthsMap, namesMap, profileMap } from './account/document';
import { Chats, describeMonth, readMonthDescription } from './chats/chats';
import { chatOfTopic, SharedChats } from './chats/shared-chats';
import { Contacts } from './people/contacts';
import { People } from './people/people';
import { safetyCode } from './people/safety';
import { messagesMap, monthTopicRange, parseMonthTopic } from './chats/messages';
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
import { dayOf, roomKeys, type EpochKeys, type RoomKeys } from './identity/epochs';
import { Outbox } from './mailbox/outbox';
import { RoomMailbox } from './mailbox/room-mailbox';
import { MAX_DEVICE_NAME_LENGTH, type DeviceKind, type DeviceRole, type ListedDevice } from './protocol/trust';
import type { DocumentStore, KeyValueStore } from './storage/types';
import { excerpt, historyFloor, mayApply, NO_FLOOR, sharing } from './history/window';
import { SyncEngine, type SyncProgress, type TopicShare } from './sync/engine';
import { SecureChannel, type SessionPolicy } from './transport/peer-session';
import type { RoomAuth, RoomMode, Transport, TransportStatus } from './transport/types';
import type { Clock } from './util/clock';
import { Emitter } from './util/emitter';

export interface Platform {
	records: KeyValueStore;
	documents: DocumentStore;
	/**
	 * A transport into the rendezvous room `room` (an opaque id); with the room's `auth`, one whose
	 * mailbox deposits and takes the server accepts; in mode 'mailbox', one that only uses the mailbox.
	 */
	transport(room: string, auth?: RoomAuth, mode?: RoomMode): Transport;
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
	/** While history arrives from a connected device: how many of the messages it announced are here. */
	history?: SyncProgress;
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
/** The start of the oldest month this device keeps, when its user cleared older history here. */
const RECORD_KEPT_FROM = 'history-kept-from';
/** Set on a new device until it has synced with another device once: the mailbox alone is not its history. */
const RECORD_AWAITING_HISTORY = 'awaiting-history';
/** The last UTC day up to which this device took everything the account's mailboxes held for it. */
const RECORD_MAILBOX_DAY = 'mailbox-day';
/** How many days back a device catches up on mailboxes: as long as the server keeps what waits (MAILBOX_DAYS). */
const CATCH_UP_DAYS = 30;
/**
 * After moving to a new day's room, the former day's mailbox is looked at once more this much
 * later: a device whose clock is a little behind may still have left something there.
 */
const LATE_CATCH_UP_MS = 15 * 60 * 1000;
/** How long one earlier day's mailbox may take to hand out what it holds before catching up stops for now. */
const CATCH_UP_ROOM_TIMEOUT_MS = 30_000;
const ACTIVITY_INTERVAL_MS = 60 * 60 * 1000;
const CHECK_INTERVAL_MS = 60 * 1000;
/** How long a companion that logs itself out waits for its leaving note to reach the mailbox. */
const LEAVING_DEPOSIT_TIMEOUT_MS = 10_000;
/** How long changes gather before they are deposited together. */
const DEPOSIT_DELAY_MS = 50;
/** Time for the last messages (a new device list, a leaving note) to leave before a device wipes itself. */
const DELETE_GRACE_MS = 1500;

/** One day's room of one epoch: its transport, its peer sessions and its mailbox. */
interface RoomConnection {
	keys: RoomKeys;
	transport: Transport;
	channel: SecureChannel;
	mailbox: RoomMailbox;
	detachSync?: () => void;
}

export class Session extends Emitter<SessionEvents> implements LinkAuthority {
	private readonly engine: SyncEngine;
	private account!: Y.Doc;
	readonly chats!: Chats;
	/** Other accounts as this account knows them: contacts, and members of its chats. */
	readonly people!: People;
	/** Chats with other accounts: their keys, rooms and checks. */
	readonly shared!: SharedChats;
	/** Becoming contacts by invite. */
	readonly contacts!: Contacts;
	/** Today's room of the current epoch, where the devices meet and leave what waits. */
	private current?: RoomConnection;
	/** Today's rooms of former epochs, for devices that were away during a key rotation. */
	private handover: RoomConnection[] = [];
	/** Catching up on the mailboxes of earlier days, when under way. */
	private catchingUp?: { epoch: number; cancelled: boolean; done: Promise<void> };
	/** Whether the last catch-up went through every day it meant to. */
	private caughtUpOnEarlierDays = false;
	private lateCatchUpTimer?: ReturnType<typeof setTimeout>;
	/** Entries of earlier days' mailboxes that could not be opened or applied. */
	private catchUpRejected = 0;
	/** The month from which its user keeps history on this device (Settings → Storage), if they chose one. */
	private keptFrom = NO_FLOOR;
	/** A new device that has not yet synced with another device of the account. */
	private awaitingHistory = false;
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
		this.engine = new SyncEngine(platform.documents, {
			acceptTopic: (topic) => topic === ACCOUNT_TOPIC || this.keepsMonth(topic) || !!this.shared?.acceptsTopic(topic),
			// What another account's device brings to a shared chat is checked record by record; the
			// account's own devices (and its own rooms' mailbox) are trusted, as they checked it on arrival.
			acceptUpdate: (topic, update, from, doc) =>
				mayApply(topic, update, this.historyFloor) &&
				(!from || from.account === this.trust.accountId || !chatOfTopic(topic) || this.shared.checkUpdate(topic, update, doc)),
			knownTopics: () => [
				ACCOUNT_TOPIC,
				...(this.shared?.stateTopics ?? []),
				...[...monthsMap(this.account).keys()].filter((topic) => this.keepsMonth(topic))
			],
			weigh: (peer, topic, doc) => {
				if (!parseMonthTopic(topic)) return 0;
				const floor = this.floorOf(peer.device) ?? NO_FLOOR;
				let count = 0;
				for (const message of messagesMap(doc).values()) if (typeof message?.sentAt === 'number' && message.sentAt >= floor) count++;
				return count;
			},
			// Exact from the month's description when every message in it is inside the peer's window.
			weighStored: (peer, topic, description) => {
				if (!parseMonthTopic(topic)) return 0;
				const month = readMonthDescription(topic, description);
				const floor = this.floorOf(peer.device) ?? NO_FLOOR;
				return month && (month.first === undefined || month.first >= floor) ? month.count : undefined;
			},
			// The account first, then the newest months: a new device fills its chats newest first.
			priority: (topic) => monthTopicRange(topic)?.start ?? Number.MAX_SAFE_INTEGER,
			describe: describeMonth,
			// A message deleted for everyone in a chat with others leaves no text in what its documents send.
			collects: (topic) => {
				const chatId = chatOfTopic(topic);
				return !!chatId && !!this.shared?.isShared(chatId);
			}
		});
		this.engine.on('changed', () => this.changed());
		// A month opened (scrolled back to, or synced) adds to what a chat shows.
		this.engine.on('topic-opened', () => this.changed());
		this.engine.on('progress', () => this.changed());
		this.engine.on('peers-changed', (peers) => {
			for (const peer of this.syncedPeers.keys()) if (!peers.some((p) => p.peer === peer)) this.syncedPeers.delete(peer);
			this.scheduleDeposit();
			this.changed();
		});
		this.engine.on('peer-synced', ({ peer, device }) => {
			this.syncedPeers.set(peer, device);
			if (this.awaitingHistory) {
				this.awaitingHistory = false;
				void this.platform.records.delete(RECORD_AWAITING_HISTORY).catch(() => undefined);
			}
			if (this.everyDeviceSynced()) this.outbox.clear();
			this.changed();
		});
		this.engine.on('local-update', ({ topic, update }) => {
			const doc = this.engine.doc(topic);
			// With every other device connected and synced, the change goes to them now: nothing is owed
			// (the deposit would clear it anyway, and the status bar would flicker "waiting"). A device
			// alone owes everything: a device linked later that has not met it yet takes it from the mailbox.
			const delivered = this.trust.deviceList.devices.length > 1 && this.everyDeviceSynced();
			if (doc && !delivered) this.outbox.owe(topic, doc, update);
			this.scheduleDeposit();
			this.changed();
		});
		trust.on('changed', () => this.trustChanged());
		trust.on('shown', () => this.changed());
		// A companion that left by itself may hear of its removal first: it still left by itself.
		trust.on('logged-out', (reason) => void this.wipe(this.leaving ? 'self' : this.told(reason)));
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
		if (trust.loggedOut) await session.wipe(session.told(trust.loggedOut));
		else session.check();
		return session;
	}

	static async createAccount(platform: Platform, accountName: string, deviceName: string, kind: DeviceKind = 'computer'): Promise<Session> {
		const keys = generateDeviceKeys();
		await platform.records.set(RECORD_DEVICE_KEYS, storeDeviceKeys(keys));
		const trust = await AccountTrust.create(platform.records, keys, platform.clock, deviceName, kind);
		// Nothing waits for a new account in any earlier day's mailbox.
		await platform.records.set(RECORD_MAILBOX_DAY, dayOf(platform.clock()));
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
		// History comes from the primary, met while linking; of the mailboxes, yesterday's is looked at.
		await platform.records.set(RECORD_MAILBOX_DAY, dayOf(platform.clock()));
		await platform.records.set(RECORD_AWAITING_HISTORY, true);
		const session = new Session(platform, joined.keys, trust);
		await session.open();
		return session;
	}

	private async open(): Promise<void> {
		this.keptFrom = (await this.platform.records.get<number>(RECORD_KEPT_FROM)) ?? NO_FLOOR;
		this.awaitingHistory = (await this.platform.records.get<boolean>(RECORD_AWAITING_HISTORY)) ?? false;
		this.outbox = await Outbox.load(this.platform.records);
		this.account = await this.engine.open(ACCOUNT_TOPIC);
		const people = new People(this.account, this.trust.accountId, this.platform.clock);
		(this as { people: People }).people = people;
		const host = {
			keys: this.keys,
			accountId: this.trust.accountId,
			account: this.account,
			engine: this.engine,
			people,
			records: this.platform.records,
			clock: this.platform.clock,
			transport: (room: string, auth?: RoomAuth, mode?: RoomMode) => this.platform.transport(room, auth, mode),
			introduction: () => this.trust.introduction(),
			ownList: () => this.trust.deviceList,
			accountName: () => this.accountName
		};
		(this as { shared: SharedChats }).shared = await SharedChats.start(host);
		(this as { contacts: Contacts }).contacts = new Contacts({ ...host, shared: this.shared });
		this.shared.on('changed', () => this.changed());
		this.contacts.on('changed', () => this.changed());
		// This account's own devices sign records in shared chats: their keys are known as anyone's are.
		people.considerIntroduction(this.trust.introduction());
		(this as { chats: Chats }).chats = new Chats(this.account, this.engine, this.keys.id, this.platform.clock, (topic) => this.keepsMonth(topic), {
			account: this.trust.accountId,
			prepare: (message) => (this.shared.isShared(message.chatId) ? this.shared.signMessage(message) : message),
			read: (chatId, upTo) => {
				if (this.shared.isShared(chatId)) void this.shared.mark(chatId, upTo, upTo);
			}
		});
		await this.chats.start();
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

	/** Joins the account's rooms of today and syncs with every device found there, until `disconnect`. */
	connect(): void {
		if (this.connected || this.wiped) return;
		this.connected = true;
		this.openTodaysRooms();
		void this.catchUp(this.trust.currentEpoch);
		this.shared.connect();
		this.contacts.connect();
		this.checkTimer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
		this.check();
		this.changed();
	}

	/** Joins today's room of the current epoch (to sync) and of each handover epoch. */
	private openTodaysRooms(): void {
		const today = this.today;
		this.current = this.openRoom(roomKeys(this.trust.currentEpoch, today), true);
		this.handover = this.trust.handoverEpochs.map((keys) => this.openRoom(roomKeys(keys, today), false));
	}

	private get today(): number {
		return dayOf(this.platform.clock());
	}

	/** Today's room of the current epoch, where this device meets the others (also before it connects). */
	get meetingRoom(): RoomKeys {
		return this.current?.keys ?? roomKeys(this.trust.currentEpoch, this.today);
	}

	/**
	 * Whether `epoch` is the current one. Asked each time: a room becomes a former epoch's while it is
	 * open, and from then on nothing there is applied (a removed device may write there).
	 */
	private isCurrentEpoch(epoch: number): boolean {
		return epoch === this.trust.deviceList.epoch;
	}

	/** A day's mailbox as this device handles it: what it applies there, what it takes. */
	private roomMailbox(transport: Transport, keys: RoomKeys, caughtUp: () => void): RoomMailbox {
		const isCurrent = () => this.isCurrentEpoch(keys.epoch);
		return new RoomMailbox(
			transport,
			keys,
			{
				update: (topic, update) => (isCurrent() ? this.applyFromMailbox(topic, update) : Promise.resolve(false)),
				introduction: (introduction) => this.trust.consider(introduction),
				caughtUp
			},
			isCurrent
		);
	}

	private openRoom(keys: RoomKeys, syncs: boolean): RoomConnection {
		const transport = this.platform.transport(keys.room, keys.roomAuth);
		const channel = new SecureChannel(transport, this.sessionPolicy(keys));
		const isCurrent = () => this.isCurrentEpoch(keys.epoch);
		const mailbox = this.roomMailbox(transport, keys, () => {
			void this.noteMailboxSeen();
			this.changed();
		});
		const room: RoomConnection = { keys, transport, channel, mailbox };
		if (syncs) room.detachSync = this.engine.attach(channel, (peer, topic) => this.share(peer.account, peer.device, topic));
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

	/**
	 * Takes what the account's devices left in the mailboxes of the days this device missed: from the
	 * day it last caught up (at least yesterday, at most CATCH_UP_DAYS back) to yesterday, one day's
	 * room at a time, joined for its mailbox only. What it applies there it deposits again today for
	 * the devices still away (applyFromMailbox). Stops when the epoch changes or the device goes
	 * offline; the next connection starts over from the day it last completed.
	 */
	private catchUp(epoch: EpochKeys, days?: number[]): Promise<void> {
		if (this.catchingUp) this.catchingUp.cancelled = true;
		const run = { epoch: epoch.epoch, cancelled: false, done: Promise.resolve() };
		this.catchingUp = run;
		this.caughtUpOnEarlierDays = false;
		run.done = (async () => {
			const today = this.today;
			if (!days) {
				const seen = (await this.platform.records.get<number>(RECORD_MAILBOX_DAY)) ?? today - CATCH_UP_DAYS;
				const first = Math.max(Math.min(seen, today - 1), today - CATCH_UP_DAYS);
				days = [];
				for (let day = today - 1; day >= first; day--) days.push(day);
			}
			// Newest first: what is most likely still missing elsewhere arrives first.
			for (const day of days) {
				if (run.cancelled || !this.connected || this.wiped || !this.isCurrentEpoch(run.epoch)) return;
				if (!(await this.catchUpOn(roomKeys(epoch, day)))) return;
			}
			this.caughtUpOnEarlierDays = !run.cancelled && this.isCurrentEpoch(run.epoch);
		})()
			// Storage that failed meanwhile (the device is being wiped): tried again by `check`, if still here.
			.catch(() => undefined)
			.finally(() => {
				if (this.catchingUp !== run) return;
				this.catchingUp = undefined;
				void this.noteMailboxSeen();
				this.changed();
			});
		return run.done;
	}

	/** Joins one earlier day's room for its mailbox, handles all it holds, leaves; false when it did not finish. */
	private async catchUpOn(keys: RoomKeys): Promise<boolean> {
		const transport = this.platform.transport(keys.room, keys.roomAuth, 'mailbox');
		let finish!: (done: boolean) => void;
		const finished = new Promise<boolean>((resolve) => (finish = resolve));
		const mailbox = this.roomMailbox(transport, keys, () => finish(true));
		const timer = setTimeout(() => finish(false), CATCH_UP_ROOM_TIMEOUT_MS);
		transport.connect();
		const done = await finished;
		clearTimeout(timer);
		this.catchUpRejected += mailbox.rejected;
		mailbox.close();
		transport.close();
		return done;
	}

	/** Once today's mailbox and the earlier days' are handled, the next catch-up starts from today. */
	private async noteMailboxSeen(): Promise<void> {
		const current = this.current;
		if (!current?.mailbox.caughtUp || this.catchingUp || !this.caughtUpOnEarlierDays || this.wiped) return;
		// Should storage fail, the next catch-up merely looks at more days.
		await this.platform.records.set(RECORD_MAILBOX_DAY, current.keys.day).catch(() => undefined);
	}

	/** At midnight UTC: today's rooms replace yesterday's; yesterday's mailbox gets one late look. */
	private moveToNewDay(): void {
		const today = this.today;
		const current = this.current;
		if (!this.connected || this.wiped || !current || current.keys.day === today) return;
		const former = [current, ...this.handover];
		this.openTodaysRooms();
		for (const room of former) this.closeRoom(room);
		const epoch = this.trust.currentEpoch;
		const day = current.keys.day;
		clearTimeout(this.lateCatchUpTimer);
		this.lateCatchUpTimer = setTimeout(() => {
			if (this.connected && !this.wiped && this.isCurrentEpoch(epoch.epoch)) void this.catchUp(epoch, [day]);
		}, LATE_CATCH_UP_MS);
		this.changed();
	}

	/** Whether `topic` is a month document this device keeps: one that is not wholly before its history window. */
	private keepsMonth(topic: string): boolean {
		return !!parseMonthTopic(topic) && sharing(topic, this.historyFloor, NO_FLOOR).kind !== 'none';
	}

	/**
	 * The oldest history this device keeps: a year before it was linked (none on the primary), or
	 * the month its user kept from, whichever is later.
	 */
	get historyFloor(): number {
		return Math.max(this.floorOf(this.keys.id) ?? NO_FLOOR, this.keptFrom);
	}

	/** What each chat's history takes on this device, largest first. */
	async storage(): Promise<{ chatId: string; bytes: number; months: number }[]> {
		await this.platform.documents.flush().catch(() => undefined);
		const byChat = new Map<string, { chatId: string; bytes: number; months: number }>();
		for (const [topic, bytes] of await this.platform.documents.sizes()) {
			const chatId = parseMonthTopic(topic)?.chatId;
			if (!chatId || !this.keepsMonth(topic)) continue;
			const entry = byChat.get(chatId) ?? { chatId, bytes: 0, months: 0 };
			entry.bytes += bytes;
			entry.months++;
			byChat.set(chatId, entry);
		}
		return [...byChat.values()].sort((a, b) => b.bytes - a.bytes);
	}

	/**
	 * Deletes, on this device only, every month of history before the month of `date`; this device
	 * then takes none of it again from the others, which keep theirs.
	 */
	async clearHistoryBefore(date: number): Promise<number> {
		const from = new Date(date);
		const keptFrom = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1);
		if (keptFrom <= this.keptFrom) return 0;
		this.keptFrom = keptFrom;
		await this.platform.records.set(RECORD_KEPT_FROM, keptFrom);
		const gone = [...new Set([...monthsMap(this.account).keys(), ...this.engine.topics])].filter(
			(topic) => parseMonthTopic(topic) && !this.keepsMonth(topic)
		);
		for (const topic of gone) await this.engine.forget(topic);
		this.chats.forgetMonths();
		this.changed();
		return gone.length;
	}

	/** The history floor of a listed device, from the signed list; undefined for a device not on it. */
	private floorOf(deviceId: string): number | undefined {
		const device = this.trust.deviceList.devices.find((listed) => listed.id === deviceId);
		return device && historyFloor(device);
	}

	/** What a device of the account receives of a document: nothing before its history window. */
	private share(account: string, deviceId: string, topic: string): TopicShare {
		const floor = account === this.trust.accountId ? this.floorOf(deviceId) : undefined;
		if (floor === undefined) return false;
		const shared = sharing(topic, floor, this.historyFloor);
		// A month of which this device holds only an excerpt: the other device has more, and may give it.
		if (shared.kind === 'none') return this.keepsMonth(topic) ? 'receive' : false;
		if (shared.kind === 'whole') return true;
		return { excerpt: (doc) => excerpt(topic, doc, shared.since) };
	}

	private sessionPolicy(keys: RoomKeys): SessionPolicy {
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
		this.people.considerIntroduction(this.trust.introduction());
		this.contacts.reintroduce();
		this.shared.reintroduce();
		this.changed();
		if (!this.connected || this.wiped) return;
		const introduction = this.trust.introduction();
		const current = this.current;
		for (const room of [current, ...this.handover]) room?.channel.reintroduce();
		if (current && !this.isCurrentEpoch(current.keys.epoch)) {
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
				this.current = this.openRoom(roomKeys(this.trust.currentEpoch, this.today), true);
				// What the devices left in the new epoch's rooms while this one was still on the former.
				void this.catchUp(this.trust.currentEpoch);
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
	 * document's changes since it was last delivered, whoever wrote them. While a deposit is under
	 * way, resolves with that one; true when all was stored.
	 */
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
		this.moveToNewDay();
		// A catch-up cut short (the network went, a day's mailbox did not answer) is tried again.
		if (this.connected && !this.catchingUp && !this.caughtUpOnEarlierDays && this.current?.transport.status === 'online') {
			void this.catchUp(this.trust.currentEpoch);
		}
		this.scheduleDeposit();
		this.contacts.poll();
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
		clearTimeout(this.lateCatchUpTimer);
		this.depositTimer = undefined;
		if (this.catchingUp) this.catchingUp.cancelled = true;
		for (const room of [this.current, ...this.handover]) if (room) this.closeRoom(room);
		this.current = undefined;
		this.handover = [];
		this.shared.disconnect();
		this.contacts.disconnect();
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

	/** What the user is told: taken off the list before any history came is a link that did not finish. */
	private told(reason: LogoutReason): LogoutReason {
		return reason === 'removed' && this.awaitingHistory ? 'link-unfinished' : reason;
	}

	/** Deletes every key and message this device holds; the screens then show why. */
	private async wipe(reason: LogoutReason): Promise<void> {
		if (this.wiped) return;
		this.wiped = true;
		this.disconnect();
		this.chats?.stop();
		this.shared?.stop();
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
		// Other devices, and whoever opens one of its invites later, are told the account is gone.
		if (this.trust.deviceList.devices.length > 1 || this.contacts.invites > 0) {
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

	// --- other people ---

	/** The 60-digit code this account and `accountId` compare to verify each other (12 groups of 5). */
	safetyCode(accountId: string): string[] | undefined {
		const person = this.people.get(accountId);
		return person && safetyCode(this.trust.deviceList.accountKey, person.accountKey);
	}

	/**
	 * The contact's side of the safety code, scanned: when it equals this side's, the contact is
	 * marked verified (as Mark as verified does) and the answer is true; when it differs, nothing is
	 * marked and the answer is false.
	 */
	confirmSafetyCode(accountId: string, scanned: readonly string[]): boolean {
		const own = this.safetyCode(accountId);
		if (!own || !this.people.get(accountId)?.contact || own.join('') !== scanned.join('')) return false;
		this.people.setVerified(accountId, true);
		return true;
	}

	// --- connection ---

	get connection(): ConnectionState {
		return {
			network: this.current?.transport.status ?? 'offline',
			// Two tabs of one device are one device.
			peers: new Set(this.engine.peers.map((peer) => peer.device)).size,
			syncedPeers: new Set(this.syncedPeers.values()).size,
			undelivered: !this.outbox.isEmpty,
			history: this.receivingHistory ? this.engine.progress : undefined,
			historySynced:
				this.syncedPeers.size > 0 ||
				(!this.awaitingHistory &&
					this.engine.peers.length === 0 &&
					!!this.current?.mailbox.caughtUp &&
					!this.catchingUp &&
					this.caughtUpOnEarlierDays)
		};
	}

	/** Whether history is arriving from a connected device: `connection.history` without the counting. */
	get receivingHistory(): boolean {
		return this.syncedPeers.size === 0 && this.engine.progress !== undefined;
	}

	get rejectedFrames(): number {
		let frames = this.engine.rejectedMessages;
		for (const room of [this.current, ...this.handover]) frames += room?.channel.rejectedFrames ?? 0;
		return frames;
	}

	get mailboxRejected(): number {
		return (this.current?.mailbox.rejected ?? 0) + this.catchUpRejected;
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
