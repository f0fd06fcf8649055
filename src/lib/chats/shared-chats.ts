/**
 * Chats with other accounts (docs/PROTOCOL.md, *Contacts and chats with other people*): their keys,
 * their rooms, who is admitted there, what of theirs is applied, and rotation.
 *
 * Each shared chat has epoch secrets (the account document's `chatKeys`, so all own devices hold
 * them). In the room of the newest epoch the member devices meet, sync the chat's documents and
 * leave what waits in its mailbox; the room of the epoch before stays open as a handover room,
 * where only the state document (which carries the new epoch's boxes) is synced. A device of
 * another account is admitted when its account is a member and its key is on that account's
 * newest list; whatever it, or the mailbox, brings is checked record by record
 * (./foreign-updates.ts) before it is applied.
 *
 * In a large room a device meets only some of the others (../transport/link-plan.ts), and what
 * the rest write reaches it relayed. So each member account keeps its newest signed device list
 * in the chat's state document too: a device checks records of devices it never met against it,
 * and asks its peers again for what it refused once a list it lacked comes.
 */
import * as Y from 'yjs';
import { chatKeysMap, chatsMap, monthsMap, type ChatKeys, type ChatRecord } from '../account/document';
import { concatBytes, constantTimeEqual, fromBase64Url, KEY_BYTES, openSealed, randomBytes, sealTo, toBase64Url } from '../crypto';
import type { DeviceKeys } from '../identity/device-keys';
import { epochKeys, roomKeys, type RoomKeys } from '../identity/epochs';
import { Outbox } from '../mailbox/outbox';
import { RoomMailbox } from '../mailbox/room-mailbox';
import {
	LISTS_MAP,
	MAP_OF,
	MAX_MEMBERS,
	MAX_NAME_LENGTH,
	MONTH_MAPS,
	readInvitationBox,
	readInvitationMembers,
	readListEntry,
	readRecord,
	recordKey,
	signRecord,
	STATE_MAPS,
	kindOfMap,
	verifyRecord,
	writeInvitationBoxes,
	writeInvitationMembers,
	type GroupRecord,
	type KeyRecord,
	type LeftRecord,
	type MarkRecord,
	type MemberRecord,
	type MessageRecord,
	type RecordKind,
	type RecordsByKind,
	type RulesRecord,
	RULES_KEY
} from '../protocol/chat-records';
import { chatKeyAssociated } from '../protocol/contacts';
import { accountIdOf, readIntroduction, type DeviceList } from '../protocol/trust';
import type { KeyValueStore } from '../storage/types';
import type { SyncEngine } from '../sync/engine';
import { SecureChannel } from '../transport/peer-session';
import type { RoomAuth, RoomMode, Transport } from '../transport/types';
import type { Clock } from '../util/clock';
import { Emitter } from '../util/emitter';
import type { People } from '../people/people';
import { monthOf, monthTopic, parseMonthTopic, type ChatMessage } from './messages';
import { foreignChanges } from './foreign-updates';

/** Epoch secrets kept per chat: the newest and the one before (its room is the handover room). */
const KEPT_EPOCHS = 2;
const DEPOSIT_DELAY_MS = 50;
const MARK_DELAY_MS = 100;
/**
 * How much longer each member device waits than the one before it, in device id order, before it
 * starts the new epoch a leave calls for: about as long as the first one's boxes take to reach the others.
 */
export const ROTATION_TURN_MS = 1_000;

export function stateTopic(chatId: string): string {
	return `chat/${chatId}/state`;
}

const STATE_TOPIC = /^chat\/([A-Za-z0-9_-]{1,64})\/state$/;

export function parseStateTopic(topic: string): string | undefined {
	return STATE_TOPIC.exec(topic)?.[1];
}

/** The chat a topic belongs to: its state document or one of its months. */
export function chatOfTopic(topic: string): string | undefined {
	return parseStateTopic(topic) ?? parseMonthTopic(topic)?.chatId;
}

export type Receipt = 'sent' | 'delivered' | 'read';

/** When a record says it was written, for the kinds that say so. */
function recordTime(kind: RecordKind, record: RecordsByKind[RecordKind]): number | undefined {
	if (kind === 'message') {
		const message = record as MessageRecord;
		return Math.max(message.sentAt, message.edited);
	}
	if (kind === 'member' || kind === 'left') return (record as MemberRecord | LeftRecord).at;
	return undefined;
}

export class ChatError extends Error {
	constructor(readonly code: 'not-a-contact' | 'too-many-members' | 'not-a-member' | 'no-such-chat' | 'not-yours' | 'not-allowed') {
		super(`chat: ${code}`);
		this.name = 'ChatError';
	}
}

export interface SharedChatsHost {
	keys: DeviceKeys;
	accountId: string;
	account: Y.Doc;
	engine: SyncEngine;
	people: People;
	records: KeyValueStore;
	clock: Clock;
	transport(room: string, auth?: RoomAuth, mode?: RoomMode): Transport;
	/** This account's introduction (its signed list and heartbeat). */
	introduction(): Uint8Array;
	/** This account's newest list. */
	ownList(): DeviceList;
	/** This account's name, as its member records carry it to members who are not its contacts. */
	accountName(): string;
}

interface ChatRoom {
	chatId: string;
	keys: RoomKeys;
	/**
	 * Only the state document is synced here: a former epoch's room. A room becomes one in place when
	 * a newer epoch comes, with its connections kept: what was just sent there still arrives, and the
	 * members still on that epoch hear of the new one at once.
	 */
	handover: boolean;
	transport: Transport;
	channel: SecureChannel;
	mailbox: RoomMailbox;
	detach: () => void;
}

export class SharedChats extends Emitter<{ changed: void }> {
	private readonly rooms = new Map<string, ChatRoom[]>();
	private connected = false;
	private outbox!: Outbox;
	private depositTimer?: ReturnType<typeof setTimeout>;
	private readonly stops: (() => void)[] = [];
	/** The newest message of another account this device holds, per chat (its delivered mark). */
	private readonly delivered = new Map<string, number>();
	private markTimer?: ReturnType<typeof setTimeout>;
	/** Months of shared chats that other accounts' messages arrived in since the last mark, with their chat. */
	private readonly arrived = new Map<string, string>();
	/** Chats this device is starting a new epoch of. */
	private readonly rotating = new Set<string>();
	/** Chats this device waits for its turn to start a new epoch of. */
	private readonly turns = new Map<string, ReturnType<typeof setTimeout>>();
	/** Topics of shared chats with updates refused since a list was last adopted: asked for again when one is. */
	private readonly refusedTopics = new Set<string>();
	/** The last box this device opened in each chat, with its secret. */
	private readonly openedBoxes = new Map<string, { box: string; secret: Uint8Array }>();
	/** Per group: the accounts this device added to it (invited again if the epoch they were given loses). */
	private readonly invited = new Map<string, Set<string>>();
	/** Each chat's member accounts, as worked out from the state document they came from. */
	private readonly membersKnown = new Map<string, { doc: Y.Doc; members: string[] }>();
	/** State documents whose members and leavers are watched, to forget what `membersKnown` holds of them. */
	private readonly membersWatched = new WeakSet<Y.Doc>();
	/** Per account, the list text last weighed from a state document: each is weighed once. */
	private readonly listsWeighed = new Map<string, string>();
	/** This account's list as the state documents carry it, for the list it was made from. */
	private ownListText?: { list: DeviceList; text: string };
	/** Updates from other accounts' devices or the mailbox that were refused. */
	refused = 0;

	private constructor(private readonly host: SharedChatsHost) {
		super();
	}

	static async start(host: SharedChatsHost): Promise<SharedChats> {
		const chats = new SharedChats(host);
		chats.outbox = await Outbox.load(host.records, 'chat-outbox');
		chats.listen();
		return chats;
	}

	private listen(): void {
		const { engine, account, people } = this.host;
		this.stops.push(
			engine.on('local-update', ({ topic, update }) => {
				const chatId = chatOfTopic(topic);
				const doc = engine.doc(topic);
				if (!chatId || !this.isShared(chatId) || !doc) return;
				this.outbox.owe(topic, doc, update);
				this.scheduleDeposit();
			}),
			engine.on('changed', ({ topic, local }) => {
				const chatId = parseStateTopic(topic);
				if (chatId) this.stateChanged(chatId);
				const month = parseMonthTopic(topic);
				if (!month || !this.isShared(month.chatId)) return;
				// A month another account's device wrote in: the chat list learns of it.
				if (!monthsMap(account).has(topic)) monthsMap(account).set(topic, true);
				if (!local) this.noteDelivered(month.chatId, topic);
			}),
			people.on('devices-changed', ({ accountId, removed }) => {
				if (removed.length === 0) return;
				for (const chat of this.sharedChats()) {
					if (!this.members(chat.id).includes(accountId)) continue;
					const epoch = this.currentEpoch(chat.id);
					this.rotateInTurn(chat.id, () => this.currentEpoch(chat.id) === epoch);
				}
			})
		);
		const keysObserver = () => this.syncRooms();
		chatKeysMap(account).observe(keysObserver);
		this.stops.push(() => chatKeysMap(account).unobserve(keysObserver));
		const chatsObserver = () => this.membersKnown.clear();
		chatsMap(account).observe(chatsObserver);
		this.stops.push(() => chatsMap(account).unobserve(chatsObserver));
	}

	// --- what chats there are ---

	private sharedChats(): ChatRecord[] {
		return [...chatsMap(this.host.account).values()].filter((chat) => chat.kind === 'direct' || chat.kind === 'group');
	}

	isShared(chatId: string): boolean {
		const kind = chatsMap(this.host.account).get(chatId)?.kind;
		return kind === 'direct' || kind === 'group';
	}

	/** Whether this device opens `topic`: a shared chat's state document. */
	acceptsTopic(topic: string): boolean {
		const chatId = parseStateTopic(topic);
		return !!chatId && this.isShared(chatId);
	}

	/** The state documents of the shared chats: offered to own devices with the rest. */
	get stateTopics(): string[] {
		return this.sharedChats().map((chat) => stateTopic(chat.id));
	}

	private state(chatId: string): Y.Doc | undefined {
		return this.host.engine.doc(stateTopic(chatId));
	}

	private stateRecords<K extends RecordKind>(chatId: string, kind: K): RecordsByKind[K][] {
		const doc = this.state(chatId);
		if (!doc) return [];
		const result: RecordsByKind[K][] = [];
		for (const [key, value] of doc.getMap(MAP_OF[kind])) {
			const record = readRecord(kind, value, key, chatId);
			if (record) result.push(record);
		}
		return result;
	}

	/**
	 * The chat's member accounts now (this one included while it has not left). An account that left
	 * is a member again when a member record newer than its leaving adds it back.
	 */
	members(chatId: string): string[] {
		const doc = this.state(chatId);
		const known = this.membersKnown.get(chatId);
		if (known && known.doc === doc) return [...known.members];
		const record = chatsMap(this.host.account).get(chatId);
		const members = new Set<string>([this.host.accountId, ...(record?.members ?? [])]);
		const added = new Map(this.stateRecords(chatId, 'member').map((member) => [member.account, member.at]));
		for (const account of added.keys()) members.add(account);
		for (const left of this.stateRecords(chatId, 'left')) if (left.at >= (added.get(left.account) ?? -1)) members.delete(left.account);
		// This account knows itself: added back, it is in before the record that says so arrives.
		if (record?.left) members.delete(this.host.accountId);
		else members.add(this.host.accountId);
		// Kept until the chat's record or its state's members or leavers change (Yjs tells those before anyone reads again).
		if (doc) {
			if (!this.membersWatched.has(doc)) {
				this.membersWatched.add(doc);
				const forget = () => this.membersKnown.delete(chatId);
				doc.getMap(MAP_OF.member).observe(forget);
				doc.getMap(MAP_OF.left).observe(forget);
			}
			this.membersKnown.set(chatId, { doc, members: [...members] });
		}
		return [...members];
	}

	/**
	 * The name a member record gives `accountId` (as the account that added it knew it): for members
	 * this account has no contact with.
	 */
	memberName(chatId: string, accountId: string): string | undefined {
		return this.stateRecords(chatId, 'member').find((member) => member.account === accountId)?.name || undefined;
	}

	/** Who joined the chat after it was made, by whom, and who left, with when: the lines the chat shows. */
	memberEvents(chatId: string): { kind: 'added' | 'left'; account: string; by?: string; at: number }[] {
		const members = this.stateRecords(chatId, 'member');
		const made = members.find((member) => member.account === member.by)?.at;
		return [
			...members.filter((member) => member.account !== member.by && member.at !== made).map((member) => ({ kind: 'added' as const, account: member.account, by: member.by, at: member.at })),
			...this.stateRecords(chatId, 'left').map((left) => ({ kind: 'left' as const, account: left.account, at: left.at }))
		];
	}

	/**
	 * The account that made a group: the one its rules name, or (a group from before rules) the one
	 * that added itself. Its own member record may be replaced when it is added back; its rules stay.
	 */
	creator(chatId: string): string | undefined {
		return this.stateRecords(chatId, 'rules')[0]?.by ?? this.stateRecords(chatId, 'member').find((member) => member.account === member.by)?.account;
	}

	/** Whether every member may add accounts to the group (its creator's rule; without one, they may). */
	membersMayAdd(chatId: string): boolean {
		return this.stateRecords(chatId, 'rules')[0]?.membersAdd ?? true;
	}

	/**
	 * Whether member `accountId` may add accounts, by the group's rules (a direct chat never grows).
	 * Not before the state document with its creator's records is here: until then the rules are unknown.
	 */
	private mayAddAs(chatId: string, accountId: string): boolean {
		const creator = this.creator(chatId);
		if (chatsMap(this.host.account).get(chatId)?.kind !== 'group' || creator === undefined) return false;
		return creator === accountId || this.membersMayAdd(chatId);
	}

	/** Whether `accountId` may add accounts to the chat now. */
	mayAdd(chatId: string, accountId = this.host.accountId): boolean {
		return this.members(chatId).includes(accountId) && this.mayAddAs(chatId, accountId);
	}

	// --- keys ---

	private epochs(chatId: string): { epoch: number; secret: Uint8Array }[] {
		const entry = chatKeysMap(this.host.account).get(chatId);
		if (!entry || !Array.isArray(entry.epochs)) return [];
		const result: { epoch: number; secret: Uint8Array }[] = [];
		for (const { epoch, secret } of entry.epochs) {
			try {
				const bytes = fromBase64Url(secret);
				if (Number.isSafeInteger(epoch) && epoch > 0 && bytes.length === KEY_BYTES) result.push({ epoch, secret: bytes });
			} catch {
				// A damaged entry: the chat waits for a box.
			}
		}
		return result.sort((a, b) => a.epoch - b.epoch);
	}

	currentEpoch(chatId: string): number {
		return this.epochs(chatId).at(-1)?.epoch ?? 0;
	}

	/** Keeps `secret` as the chat's epoch `epoch` (replacing another secret of that epoch: a concurrent rotation lost). */
	private keep(chatId: string, epoch: number, secret: Uint8Array): void {
		const epochs = this.epochs(chatId).filter((known) => known.epoch !== epoch);
		epochs.push({ epoch, secret });
		epochs.sort((a, b) => a.epoch - b.epoch);
		const kept: ChatKeys = {
			epochs: epochs.slice(-KEPT_EPOCHS).map((known) => ({ epoch: known.epoch, secret: toBase64Url(known.secret) })),
			members: this.members(chatId)
		};
		chatKeysMap(this.host.account).set(chatId, kept);
	}

	/** Seals `secret` to every listed device of every member account this device knows a list of. */
	private writeBoxes(chatId: string, epoch: number, secret: Uint8Array): void {
		const doc = this.state(chatId);
		if (!doc) return;
		const keys = doc.getMap('keys');
		doc.transact(() => {
			for (const accountId of this.members(chatId)) {
				const list = accountId === this.host.accountId ? this.host.ownList() : this.host.people.get(accountId)?.list;
				for (const device of list?.devices ?? []) {
					if (device.id === this.host.keys.id) continue;
					const box = toBase64Url(sealTo(device.agreeKey, secret, chatKeyAssociated(chatId, epoch, device.id)));
					const record = signRecord('key', { chat: chatId, epoch, device: device.id, box, by: this.host.accountId }, this.signer);
					keys.set(recordKey('key', record), record);
				}
			}
		});
	}

	private get signer(): { id: string; signSecret: Uint8Array } {
		return { id: this.host.keys.id, signSecret: this.host.keys.signing.secretKey };
	}


	/** The state document changed: a box for this device may have come, a member left, or a list changed. */
	private stateChanged(chatId: string): void {
		this.adoptLists(chatId);
		this.publishList(chatId);
		if (chatsMap(this.host.account).get(chatId)?.kind === 'direct') this.joinGroups(chatId);
		this.adoptNewestEpoch(chatId);
		if (this.membersChanged(chatId)) this.rotateInTurn(chatId, () => this.membersChanged(chatId));
		this.emit('changed', undefined);
	}

	// --- device lists ---

	/**
	 * Adopts the newer device lists of members that the state document holds; when one is new
	 * here, asks the peers again for what was refused, which may have been signed by its devices.
	 */
	private adoptLists(chatId: string): void {
		const doc = this.state(chatId);
		if (!doc) return;
		const { people } = this.host;
		let learnt = false;
		for (const [accountId, value] of doc.getMap(LISTS_MAP)) {
			if (accountId === this.host.accountId || this.listsWeighed.get(accountId) === value) continue;
			const bytes = readListEntry(value);
			if (!bytes) continue;
			this.listsWeighed.set(accountId, value as string);
			const before = people.get(accountId)?.list.version ?? 0;
			if (people.consider(bytes) === accountId && (people.get(accountId)?.list.version ?? 0) > before) learnt = true;
		}
		if (!learnt || this.refusedTopics.size === 0) return;
		const topics = [...this.refusedTopics];
		this.refusedTopics.clear();
		for (const topic of topics) this.host.engine.askAgain(topic);
	}

	/** Puts this account's newest list in the chat's state document, where it is not yet. */
	private publishList(chatId: string): void {
		const doc = this.state(chatId);
		if (!doc || !this.members(chatId).includes(this.host.accountId)) return;
		const list = this.host.ownList();
		if (this.ownListText?.list !== list) this.ownListText = { list, text: toBase64Url(readIntroduction(this.host.introduction()).deviceList) };
		const own = this.ownListText.text;
		const lists = doc.getMap(LISTS_MAP);
		const there = lists.get(this.host.accountId);
		if (there === own) return;
		const known = typeof there === 'string' ? this.host.people.readList(there) : undefined;
		if (known && known.version >= list.version) return;
		lists.set(this.host.accountId, own);
	}

	/**
	 * A member's signed device list from the state document's `lists`, when it may stand there: the
	 * member's own (signed by its account key), and no older than the one it replaces (two devices
	 * of the account may write the same list at once).
	 */
	private memberList(accountId: string, value: unknown, previous: unknown, members: Set<string>): DeviceList | undefined {
		const bytes = readListEntry(value);
		const list = bytes && members.has(accountId) ? this.host.people.readList(toBase64Url(bytes)) : undefined;
		if (!list || accountIdOf(list.accountKey) !== accountId) return undefined;
		if (previous === undefined) return list;
		const replaced = readListEntry(previous);
		const before = replaced && this.host.people.readList(toBase64Url(replaced));
		return before && before.version <= list.version ? list : undefined;
	}

	// --- rotation ---

	/**
	 * Starts a new epoch once this device's turn comes and `stillNeeded` holds then. Every member
	 * device notices a leave at about the same time; if each rotated, each would seal a box to every
	 * device, and every device would check them all. The device with the smallest id goes at once
	 * (its epoch wins anyway when two collide); each next one in id order ROTATION_TURN_MS later,
	 * so that the others' boxes usually came first.
	 */
	private rotateInTurn(chatId: string, stillNeeded: () => boolean): void {
		if (this.turns.has(chatId) || this.rotating.has(chatId)) return;
		const devices = new Set<string>();
		for (const accountId of this.members(chatId)) {
			const list = accountId === this.host.accountId ? this.host.ownList() : this.host.people.get(accountId)?.list;
			for (const device of list?.devices ?? []) devices.add(device.id);
		}
		const turn = [...devices].sort().indexOf(this.host.keys.id);
		if (turn <= 0) {
			void this.rotate(chatId, stillNeeded);
			return;
		}
		this.turns.set(
			chatId,
			setTimeout(() => {
				this.turns.delete(chatId);
				if (stillNeeded()) void this.rotate(chatId, stillNeeded);
			}, turn * ROTATION_TURN_MS)
		);
	}

	/**
	 * Whether the members are not those the newest epoch was made for: one left (the chat moves on
	 * without it), or one was added by a rotation that lost to a concurrent one (the winner's epoch
	 * has no box for its devices).
	 */
	private membersChanged(chatId: string): boolean {
		const keyedFor = chatKeysMap(this.host.account).get(chatId)?.members ?? [];
		const members = this.members(chatId);
		if (!members.includes(this.host.accountId)) return false;
		return keyedFor.some((account) => !members.includes(account)) || members.some((account) => !keyedFor.includes(account));
	}

	/**
	 * Takes the newest epoch of the state document that has a box for this device. Two devices may
	 * start the same epoch at once: the one with the smallest device id wins, everywhere.
	 */
	private adoptNewestEpoch(chatId: string): void {
		// A group this account left: its later boxes are none of its business (nor the one it left at).
		if (chatsMap(this.host.account).get(chatId)?.left) return;
		const current = this.currentEpoch(chatId);
		const byEpoch = new Map<number, KeyRecord[]>();
		for (const record of this.stateRecords(chatId, 'key')) {
			if (record.epoch < current) continue;
			const records = byEpoch.get(record.epoch);
			if (records) records.push(record);
			else byEpoch.set(record.epoch, [record]);
		}
		for (const epoch of [...byEpoch.keys()].sort((a, b) => b - a)) {
			const records = byEpoch.get(epoch)!;
			const maker = records.map((record) => record.author).sort()[0]!;
			if (maker === this.host.keys.id) return;
			const mine = records.find((record) => record.author === maker && record.device === this.host.keys.id);
			if (!mine) continue;
			// The state changes often (marks), the box rarely: it is opened once.
			let secret = this.openedBoxes.get(chatId)?.box === mine.box ? this.openedBoxes.get(chatId)!.secret : undefined;
			if (!secret) {
				try {
					secret = openSealed(this.host.keys.agreement, fromBase64Url(mine.box), chatKeyAssociated(chatId, epoch, this.host.keys.id));
				} catch {
					continue;
				}
				this.openedBoxes.set(chatId, { box: mine.box, secret });
			}
			const known = this.epochs(chatId).find((candidate) => candidate.epoch === epoch);
			if (!known || !constantTimeEqual(known.secret, secret)) {
				this.keep(chatId, epoch, secret);
				void this.inviteAgain(chatId, epoch, secret);
			}
			return;
		}
	}

	/**
	 * Starts a new epoch of the chat: a fresh secret, boxed to every device of every member this
	 * device knows a list of, kept for this account's devices, and its rooms joined.
	 */
	async rotate(chatId: string, stillNeeded: () => boolean = () => true): Promise<void> {
		if (!this.members(chatId).includes(this.host.accountId) || this.rotating.has(chatId)) return;
		this.rotating.add(chatId);
		try {
			await this.host.engine.open(stateTopic(chatId));
		} finally {
			this.rotating.delete(chatId);
		}
		// Another device's new epoch may have come meanwhile.
		if (!stillNeeded()) return;
		this.startEpoch(chatId);
	}

	/** A fresh secret as the chat's next epoch: boxed to every member device, kept for this account's. */
	private startEpoch(chatId: string): { epoch: number; secret: Uint8Array } {
		const epoch = this.currentEpoch(chatId) + 1;
		const secret = randomBytes(KEY_BYTES);
		this.writeBoxes(chatId, epoch, secret);
		this.keep(chatId, epoch, secret);
		return { epoch, secret };
	}

	// --- creating, joining and leaving chats ---

	/**
	 * Records a chat with other accounts on this account: its record, its first epoch, and (when
	 * this device creates it) the members' records and their boxes.
	 */
	async add(
		chat: { id: string; kind: 'direct' | 'group'; title: string; members: string[]; createdAt: number },
		secret: Uint8Array,
		epoch = 1,
		create = false,
		membersAdd = true
	): Promise<void> {
		const { account, engine } = this.host;
		const others = chat.members.filter((member) => member !== this.host.accountId);
		if (others.length + 1 > MAX_MEMBERS) throw new ChatError('too-many-members');
		account.transact(() => {
			const known = chatsMap(account).get(chat.id);
			chatsMap(account).set(chat.id, { id: chat.id, title: chat.title, kind: chat.kind, createdAt: known?.createdAt ?? chat.createdAt, members: others });
		});
		const state = await engine.open(stateTopic(chat.id));
		if (create) {
			state.transact(() => {
				const members = state.getMap('members');
				for (const accountId of [this.host.accountId, ...others]) {
					const person = accountId === this.host.accountId ? undefined : this.host.people.get(accountId);
					const key = accountId === this.host.accountId ? this.host.ownList().accountKey : person?.accountKey;
					if (!key) continue;
					const record = signRecord(
						'member',
						{ chat: chat.id, account: accountId, key: toBase64Url(key), name: (person?.name ?? this.host.accountName()).slice(0, MAX_NAME_LENGTH), by: this.host.accountId, at: chat.createdAt },
						this.signer
					);
					members.set(accountId, record);
				}
				// With the first members, so that no device holds the members without the rules.
				if (chat.kind === 'group') this.writeRules(chat.id, membersAdd);
			});
			this.writeBoxes(chat.id, epoch, secret);
		}
		this.keep(chat.id, epoch, secret);
	}

	/**
	 * Creates a group with `title` and the given contacts; returns its id. `membersAdd`: whether every
	 * member may add others later, or only this account.
	 */
	async createGroup(title: string, contacts: string[], { membersAdd = true }: { membersAdd?: boolean } = {}): Promise<string> {
		const members = [...new Set(contacts)].filter((id) => id !== this.host.accountId);
		if (members.length + 1 > MAX_MEMBERS) throw new ChatError('too-many-members');
		for (const id of members) if (!this.host.people.get(id)?.contact) throw new ChatError('not-a-contact');
		const id = toBase64Url(randomBytes(12));
		const secret = randomBytes(KEY_BYTES);
		const group = { id, kind: 'group' as const, title: title.trim().slice(0, 64), members, createdAt: this.host.clock() };
		await this.add(group, secret, 1, true, membersAdd);
		for (const member of members) await this.invite(member, group, secret, 1);
		return id;
	}

	/** The creator's choice of who may add members, for everyone in the group. */
	async setMembersMayAdd(chatId: string, membersAdd: boolean): Promise<void> {
		if (this.creator(chatId) !== this.host.accountId || !this.members(chatId).includes(this.host.accountId)) throw new ChatError('not-allowed');
		await this.host.engine.open(stateTopic(chatId));
		this.writeRules(chatId, membersAdd);
	}

	private writeRules(chatId: string, membersAdd: boolean): void {
		const record = signRecord('rules', { chat: chatId, membersAdd, by: this.host.accountId, at: this.host.clock() }, this.signer);
		this.state(chatId)?.getMap(MAP_OF.rules).set(RULES_KEY, record);
	}

	/**
	 * Adds contacts to a group: their member records, a new epoch boxed to every member device (theirs
	 * included), and an invitation to each through its direct chat. New members receive the chat's
	 * earlier messages from the others (docs/PROTOCOL.md); what they could not read is the mailbox's
	 * sealed past, which expires.
	 */
	async addMembers(chatId: string, contacts: string[]): Promise<void> {
		const chat = chatsMap(this.host.account).get(chatId);
		if (!chat || chat.kind !== 'group' || chat.left) throw new ChatError('no-such-chat');
		if (!this.mayAdd(chatId)) throw new ChatError('not-allowed');
		const current = this.members(chatId);
		const added = [...new Set(contacts)].filter((id) => !current.includes(id));
		if (added.length === 0) return;
		if (current.length + added.length > MAX_MEMBERS) throw new ChatError('too-many-members');
		for (const id of added) if (!this.host.people.get(id)?.contact) throw new ChatError('not-a-contact');
		const state = await this.host.engine.open(stateTopic(chatId));
		const leftAt = new Map(this.stateRecords(chatId, 'left').map((left) => [left.account, left.at]));
		let next!: { epoch: number; secret: Uint8Array };
		// One update: a device that sees the new members also sees the epoch made for them, and so
		// does not start one of its own (which, winning, would leave the new members' invitation behind).
		state.transact(() => {
			for (const accountId of added) {
				const person = this.host.people.get(accountId)!;
				// After its leaving, whatever the clocks say: a member record older than a leaving adds nobody.
				const at = Math.max(this.host.clock(), (leftAt.get(accountId) ?? -1) + 1);
				const record = signRecord('member', { chat: chatId, account: accountId, key: toBase64Url(person.accountKey), name: person.name.slice(0, MAX_NAME_LENGTH), by: this.host.accountId, at }, this.signer);
				state.getMap(MAP_OF.member).set(accountId, record);
			}
			// Yjs tells the members' observers only when the transaction ends: the epoch is for the new members too.
			this.membersKnown.delete(chatId);
			next = this.startEpoch(chatId);
		});
		const { epoch, secret } = next;
		const invited = this.invited.get(chatId) ?? new Set<string>();
		for (const accountId of added) invited.add(accountId);
		this.invited.set(chatId, invited);
		const others = this.members(chatId).filter((id) => id !== this.host.accountId);
		for (const accountId of added) await this.invite(accountId, { id: chatId, title: chat.title, members: others }, secret, epoch);
	}

	/**
	 * This device took another epoch of a group it added members to: a rival epoch of the same
	 * number that won (another member started it at the same time), or a newer one. The members it
	 * added may hold only the losing secret, and so sit alone in its room: they are invited again
	 * with the secret the others use (their devices take it, ./joinGroups).
	 */
	private async inviteAgain(chatId: string, epoch: number, secret: Uint8Array): Promise<void> {
		const invited = this.invited.get(chatId);
		const chat = chatsMap(this.host.account).get(chatId);
		if (!invited || !chat || chat.left) return;
		const members = this.members(chatId);
		const others = members.filter((id) => id !== this.host.accountId);
		for (const accountId of invited) {
			if (!members.includes(accountId)) continue;
			await this.invite(accountId, { id: chatId, title: chat.title, members: others }, secret, epoch).catch(() => undefined);
		}
	}

	/** Tells a contact's account of a group it is in, through their direct chat: the group's secret boxed to its devices. */
	private async invite(accountId: string, group: { id: string; title: string; members: string[] }, secret: Uint8Array, epoch: number): Promise<void> {
		const direct = this.sharedChats().find((chat) => chat.kind === 'direct' && chat.members?.includes(accountId));
		const person = this.host.people.get(accountId);
		if (!direct || !person) throw new ChatError('not-a-contact');
		const boxes: Record<string, string> = {};
		for (const device of person.list.devices) boxes[device.id] = toBase64Url(sealTo(device.agreeKey, secret, chatKeyAssociated(group.id, epoch, device.id)));
		const state = await this.host.engine.open(stateTopic(direct.id));
		const record = signRecord(
			'group',
			{ chat: direct.id, group: group.id, title: group.title, members: writeInvitationMembers([this.host.accountId, ...group.members]), epoch, boxes: writeInvitationBoxes(boxes), by: this.host.accountId },
			this.signer
		);
		state.getMap('groups').set(group.id, record);
	}

	/** A group invitation in a direct chat, from the other account: this account joins the group. */
	private joinGroups(chatId: string): void {
		for (const invitation of this.stateRecords(chatId, 'group')) {
			const known = chatsMap(this.host.account).get(invitation.group);
			if (invitation.by === this.host.accountId) continue;
			// Who may invite into a group this account knows is read from the group's state: when that is
			// not open yet (the app is starting, and came to this chat first), it is opened and the
			// invitations looked at again.
			if (known && !this.state(invitation.group)) {
				void this.host.engine.open(stateTopic(invitation.group)).then(
					() => this.state(invitation.group) && this.joinGroups(chatId),
					() => undefined
				);
				continue;
			}
			// A group this account is in: an invitation again may bring the secret the others use.
			if (known && !known.left) {
				this.takeInvitedSecret(invitation);
				continue;
			}
			// A group it left and was not added back to since (an older invitation).
			if (known && invitation.epoch <= (known.leftEpoch ?? Infinity)) continue;
			// Back into a group it left: only from a member the group's rules let add, as this device last knew them.
			if (known && !(this.members(invitation.group).includes(invitation.by) && this.mayAddAs(invitation.group, invitation.by))) continue;
			const secret = this.openInvitation(invitation);
			const members = readInvitationMembers(invitation);
			if (!secret || !members) continue;
			void this.add({ id: invitation.group, kind: 'group', title: invitation.title, members, createdAt: this.host.clock() }, secret, invitation.epoch);
		}
	}

	/**
	 * The group secret an invitation boxed to this device; undefined when it has no box for this
	 * device (another device of this account takes its own) or the box does not open (damaged or forged).
	 */
	private openInvitation(invitation: RecordsByKind['group']): Uint8Array | undefined {
		const box = readInvitationBox(invitation, this.host.keys.id);
		if (!box) return undefined;
		try {
			return openSealed(this.host.keys.agreement, box, chatKeyAssociated(invitation.group, invitation.epoch, this.host.keys.id));
		} catch {
			return undefined;
		}
	}

	/**
	 * An invitation to a group this account is in, from a member the rules let add, for the epoch
	 * this device is at or a later one: its secret is taken when it is not the one this device holds
	 * for that epoch (this device was added as a rival epoch of the same number won, ./inviteAgain).
	 * It gives a member no power it lacks: any member may start an epoch.
	 */
	private takeInvitedSecret(invitation: RecordsByKind['group']): void {
		const group = invitation.group;
		if (invitation.epoch < this.currentEpoch(group)) return;
		if (!this.members(group).includes(invitation.by) || !this.mayAddAs(group, invitation.by)) return;
		const secret = this.openInvitation(invitation);
		if (!secret) return;
		const held = this.epochs(group).find((known) => known.epoch === invitation.epoch);
		if (held && constantTimeEqual(held.secret, secret)) return;
		this.keep(group, invitation.epoch, secret);
	}

	/** Leaves a group: the others move to a new epoch without this account. */
	async leave(chatId: string): Promise<void> {
		const chat = chatsMap(this.host.account).get(chatId);
		if (!chat || chat.kind !== 'group') throw new ChatError('no-such-chat');
		const state = await this.host.engine.open(stateTopic(chatId));
		state.getMap('left').set(this.host.accountId, signRecord('left', { chat: chatId, account: this.host.accountId, at: this.host.clock() }, this.signer));
		await this.depositOwed();
		chatsMap(this.host.account).set(chatId, { ...chat, left: true, leftEpoch: this.currentEpoch(chatId) });
		chatKeysMap(this.host.account).delete(chatId);
	}

	// --- messages ---

	/** The signed form of a message (new, edited or deleted) this device writes in a shared chat. */
	signMessage(message: ChatMessage): MessageRecord {
		return signRecord(
			'message',
			{
				id: message.id,
				chatId: message.chatId,
				account: this.host.accountId,
				sentAt: message.sentAt,
				text: message.deleted ? '' : message.text,
				reply: message.reply ?? '',
				edited: message.edited ?? 0,
				deleted: message.deleted ?? false
			},
			this.signer
		);
	}

	/** Reacts to a message (an empty emoji takes the reaction back). */
	async react(message: ChatMessage, emoji: string): Promise<void> {
		const doc = await this.host.engine.open(monthTopic(message.chatId, monthOf(message.sentAt)));
		const record = signRecord('reaction', { chat: message.chatId, message: message.id, account: this.host.accountId, emoji }, this.signer);
		doc.getMap('reactions').set(`${message.id}/${this.host.accountId}`, record);
	}

	/** The reactions to a message: emoji → accounts. */
	reactions(message: ChatMessage): Map<string, string[]> {
		const doc = this.host.engine.doc(monthTopic(message.chatId, monthOf(message.sentAt)));
		const result = new Map<string, string[]>();
		if (!doc) return result;
		for (const [key, value] of doc.getMap('reactions')) {
			const reaction = readRecord('reaction', value, key, message.chatId);
			if (!reaction || reaction.message !== message.id || !reaction.emoji) continue;
			result.set(reaction.emoji, [...(result.get(reaction.emoji) ?? []), reaction.account]);
		}
		return result;
	}

	// --- receipts ---

	/** Notes that this account has every message of the chat up to `delivered`, and read up to `read`. */
	async mark(chatId: string, delivered: number, read: number): Promise<void> {
		if (!this.members(chatId).includes(this.host.accountId)) return;
		const state = await this.host.engine.open(stateTopic(chatId));
		const marks = state.getMap('marks');
		const known = readRecord('mark', marks.get(this.host.accountId), this.host.accountId, chatId);
		const next = { delivered: Math.max(delivered, known?.delivered ?? 0), read: Math.max(read, known?.read ?? 0) };
		if (known && known.delivered >= next.delivered && known.read >= next.read) return;
		marks.set(this.host.accountId, signRecord('mark', { chat: chatId, account: this.host.accountId, ...next }, this.signer));
	}

	/** Messages of other accounts arrived in a month: this account's delivered mark moves up to the newest. */
	private noteDelivered(chatId: string, topic: string): void {
		this.arrived.set(topic, chatId);
		// Bursts (a history sync) make one look at each month and one mark per chat, not one per change.
		if (this.markTimer !== undefined) return;
		this.markTimer = setTimeout(() => {
			this.markTimer = undefined;
			const moved = new Set<string>();
			for (const [month, chat] of this.arrived) {
				const doc = this.host.engine.doc(month);
				let newest = 0;
				for (const value of doc?.getMap('messages').values() ?? []) {
					const message = value as Partial<MessageRecord> | undefined;
					if (message && typeof message.sentAt === 'number' && message.account && message.account !== this.host.accountId && message.sentAt > newest) newest = message.sentAt;
				}
				if (newest <= (this.delivered.get(chat) ?? 0)) continue;
				this.delivered.set(chat, newest);
				moved.add(chat);
			}
			this.arrived.clear();
			for (const chat of moved) void this.mark(chat, this.delivered.get(chat)!, 0);
		}, MARK_DELAY_MS);
	}

	/** What this account's message shows: sent, delivered to every other member, or read by every other member. */
	receipt(message: ChatMessage): Receipt {
		const others = this.members(message.chatId).filter((id) => id !== this.host.accountId);
		if (others.length === 0) return 'sent';
		const marks = new Map(this.stateRecords(message.chatId, 'mark').map((mark) => [mark.account, mark]));
		const all = (field: 'delivered' | 'read') => others.every((id) => (marks.get(id)?.[field] ?? 0) >= message.sentAt);
		return all('read') ? 'read' : all('delivered') ? 'delivered' : 'sent';
	}

	// --- what other accounts bring ---

	/**
	 * Whether an update to a shared chat's document, from a device of another account or from the
	 * chat's mailbox, may be applied: every record it sets is well-formed, signed by a device of the
	 * account it names, that account may write it, and nothing is removed (./foreign-updates.ts).
	 */
	checkUpdate(topic: string, update: Uint8Array, doc: Y.Doc): boolean {
		const chatId = chatOfTopic(topic);
		if (!chatId || !this.isShared(chatId)) return false;
		const members = new Set(this.members(chatId));
		// Lists of members come first: records of the same update may be signed by devices only they
		// name. Then member records, then the lists of the accounts they add (a member who was away
		// receives an addition and the new member's list together), then the rest.
		const order = (change: { map: string; key: string }) =>
			change.map === LISTS_MAP ? (members.has(change.key) ? 0 : 2) : change.map === MAP_OF.member ? 1 : 3;
		const changes = foreignChanges(doc, update, parseStateTopic(topic) ? STATE_MAPS : MONTH_MAPS)?.sort((a, b) => order(a) - order(b));
		const lists = new Map<string, DeviceList>();
		// Accounts the update adds, counted together: many records at once may not pass 64 either.
		const joining = new Set<string>();
		const accepted =
			!!changes &&
			changes.every(({ map, key, value, previous }) => {
				if (map === LISTS_MAP) {
					const list = this.memberList(key, value, previous, joining.has(key) ? new Set([key]) : members);
					if (list) lists.set(key, list);
					return !!list;
				}
				const kind = kindOfMap(map);
				if (!kind) return false;
				const record = readRecord(kind, value, key, chatId);
				if (!record || !this.signedByItsAccount(kind, record, lists)) return false;
				return this.mayWrite(kind, record, previous, members, chatId, joining);
			});
		if (!accepted) {
			this.refused++;
			this.refusedTopics.add(topic);
		}
		return accepted;
	}

	/** The account a record speaks for, and so whose device must have signed it. */
	private accountOf(kind: RecordKind, record: RecordsByKind[RecordKind]): string {
		if (kind === 'member' || kind === 'key' || kind === 'group' || kind === 'rules') return (record as MemberRecord | KeyRecord | GroupRecord | RulesRecord).by;
		return (record as MessageRecord | LeftRecord | MarkRecord).account;
	}

	/** Whether a device of the account the record speaks for signed it; `lists` are newer lists that came with it. */
	private signedByItsAccount<K extends RecordKind>(kind: K, record: RecordsByKind[K], lists: Map<string, DeviceList>): boolean {
		const accountId = this.accountOf(kind, record);
		const listed = lists.get(accountId)?.devices.find((device) => device.id === record.author);
		if (listed) return verifyRecord(kind, record, listed.signKey);
		const people = this.host.people;
		const key = people.signKeyOf(accountId, record.author);
		if (!key || !verifyRecord(kind, record, key)) return false;
		if (people.isListed(accountId, record.author)) return true;
		// A device its account removed writes nothing new; what it wrote before stays readable.
		const removedAt = people.removedAt(accountId, record.author);
		const writtenAt = recordTime(kind, record);
		return removedAt !== undefined && writtenAt !== undefined && writtenAt < removedAt;
	}

	private mayWrite(kind: RecordKind, record: RecordsByKind[RecordKind], previous: unknown, members: Set<string>, chatId: string, joining: Set<string>): boolean {
		const author = this.accountOf(kind, record);
		switch (kind) {
			case 'message': {
				const message = record as MessageRecord;
				if (!members.has(author)) return false;
				// An edit or deletion: of the same account's message, never bringing back a deleted one.
				if (previous === undefined) return true;
				const before = readRecord('message', previous, message.id, chatId);
				return !!before && before.account === message.account && !before.deleted && before.sentAt === message.sentAt;
			}
			case 'reaction':
			case 'mark':
				return members.has(author);
			case 'left': {
				if (!members.has(author) && members.size > 0) return false;
				// Leaving again after being added back: a later time than the leaving before.
				const before = previous === undefined ? undefined : readRecord('left', previous, author, chatId);
				return previous === undefined || (!!before && before.at < (record as LeftRecord).at);
			}
			case 'member': {
				const member = record as MemberRecord;
				// The key it carries is the account's own: an account id is the hash of its key.
				if (accountIdOf(fromBase64Url(member.key)) !== member.account) return false;
				const first = this.stateRecords(chatId, 'member').length === 0;
				if (!first && !(members.has(author) && this.mayAddAs(chatId, author))) return false;
				if (!members.has(member.account)) {
					joining.add(member.account);
					if (members.size + joining.size > MAX_MEMBERS) return false;
				}
				if (previous === undefined) return true;
				// A member record stands; only an account that left since is added back, by a newer one.
				const before = readRecord('member', previous, member.account, chatId);
				const left = this.stateRecords(chatId, 'left').find((candidate) => candidate.account === member.account);
				return !!before && !!left && left.at >= before.at && member.at > left.at;
			}
			case 'rules':
				// The creator's, from the first update on (which carries its members too).
				if (chatsMap(this.host.account).get(chatId)?.kind !== 'group') return false;
				return members.has(author) && (author === this.creator(chatId) || this.stateRecords(chatId, 'member').length === 0);
			case 'key':
			case 'group':
				return members.has(author);
		}
	}

	// --- rooms ---

	/** Joins the rooms of every shared chat this account holds keys of, until `disconnect`. */
	connect(): void {
		if (this.connected) return;
		this.connected = true;
		this.syncRooms();
		void this.reconsider();
	}

	/**
	 * Looks again at what the stored state documents hold: an invitation or a box that arrived just
	 * before the app was closed may have been saved while what it led to (this account joining, the
	 * new epoch kept) was not.
	 */
	private async reconsider(): Promise<void> {
		for (const chat of this.sharedChats()) {
			try {
				await this.host.engine.open(stateTopic(chat.id));
			} catch {
				continue;
			}
			if (!this.connected) return;
			this.stateChanged(chat.id);
		}
	}

	disconnect(): void {
		this.connected = false;
		clearTimeout(this.depositTimer);
		this.depositTimer = undefined;
		for (const rooms of this.rooms.values()) for (const room of rooms) this.closeRoom(room);
		this.rooms.clear();
	}

	stop(): void {
		this.disconnect();
		clearTimeout(this.markTimer);
		for (const timer of this.turns.values()) clearTimeout(timer);
		this.turns.clear();
		for (const stop of this.stops.splice(0)) stop();
	}

	/** Every shared chat's rooms match its keys: the newest epoch's room, and the one before as handover. */
	private syncRooms(): void {
		if (!this.connected) return;
		const wanted = new Map<string, { epoch: number; secret: Uint8Array; handover: boolean }[]>();
		for (const chat of this.sharedChats()) {
			if (chat.left) continue;
			const epochs = this.epochs(chat.id);
			wanted.set(
				chat.id,
				epochs.map((epoch, index) => ({ ...epoch, handover: index < epochs.length - 1 }))
			);
		}
		for (const [chatId, rooms] of this.rooms) {
			const keep: ChatRoom[] = [];
			for (const room of rooms) {
				const epoch = wanted.get(chatId)?.find((candidate) => candidate.epoch === room.keys.epoch && roomKeys(epochKeys(candidate), 0).room === room.keys.room);
				if (!epoch) {
					this.closeRoom(room);
					continue;
				}
				// The room of the epoch before stays as it is, channels and all, and syncs only the state from now on.
				this.setHandover(room, epoch.handover);
				keep.push(room);
			}
			this.rooms.set(chatId, keep);
		}
		for (const [chatId, epochs] of wanted) {
			const rooms = this.rooms.get(chatId) ?? [];
			for (const epoch of epochs) {
				const keys = roomKeys(epochKeys(epoch), 0);
				if (!rooms.some((room) => room.keys.room === keys.room)) rooms.push(this.openRoom(chatId, keys, epoch.handover));
			}
			this.rooms.set(chatId, rooms);
		}
		this.scheduleDeposit();
	}

	private openRoom(chatId: string, keys: RoomKeys, handover: boolean): ChatRoom {
		// Read when used, not when opened: the room may become a handover room (syncRooms).
		let room!: ChatRoom;
		const { engine, people } = this.host;
		const transport = this.host.transport(keys.room, keys.roomAuth);
		const channel = new SecureChannel(transport, {
			staticKeys: this.host.keys.agreement,
			psk: keys.sessionPsk,
			prologue: concatBytes(new TextEncoder().encode('samen/v1/chat-session'), new TextEncoder().encode(keys.room)),
			introduction: () => this.host.introduction(),
			admit: (_peer, remoteStaticKey, introduction) => {
				const accountId = people.considerIntroduction(introduction);
				if (!accountId) return undefined;
				if (accountId === this.host.accountId) {
					const own = this.host.ownList().devices.find((device) => toBase64Url(device.agreeKey) === toBase64Url(remoteStaticKey));
					return own && own.id !== this.host.keys.id ? { account: accountId, device: own.id } : undefined;
				}
				if (!this.members(chatId).includes(accountId)) return undefined;
				const device = people.listedDevice(accountId, remoteStaticKey);
				return device ? { account: accountId, device: device.id } : undefined;
			}
		});
		const mailbox = new RoomMailbox(
			transport,
			keys,
			{
				update: async (topic, update) => {
					if (chatOfTopic(topic) !== chatId || (room.handover && !parseStateTopic(topic))) return false;
					const doc = await engine.open(topic);
					if (!this.checkUpdate(topic, update, doc)) return false;
					return engine.applyUpdate(topic, update);
				},
				introduction: (introduction) => void people.considerIntroduction(introduction)
			},
			// What waits here is for every member's devices: each reads it, none takes it; it expires.
			() => false
		);
		room = { chatId, keys, handover, transport, channel, mailbox, detach: () => undefined };
		room.detach = this.attachSync(room);
		transport.on('status', (status) => {
			if (status === 'online') this.scheduleDeposit();
		});
		transport.connect();
		return room;
	}

	/** Syncs the room's documents with its peers: own devices sync everything in the account's rooms, here only the chat's, with other accounts. */
	private attachSync(room: ChatRoom): () => void {
		return this.host.engine.attach(room.channel, (peer, topic) => {
			if (peer.account === this.host.accountId || chatOfTopic(topic) !== room.chatId) return false;
			return room.handover ? !!parseStateTopic(topic) : true;
		});
	}

	/** Makes a room the handover room, or the current one again, keeping its channels; its peers hear what it shares now. */
	private setHandover(room: ChatRoom, handover: boolean): void {
		if (room.handover === handover) return;
		room.handover = handover;
		this.host.engine.reannounce(room.channel);
	}

	private closeRoom(room: ChatRoom): void {
		room.detach();
		room.mailbox.close();
		room.channel.close();
		room.transport.close();
	}

	/** This account's list changed: the members' devices in every chat room hear of it now, and read it in each chat's state. */
	reintroduce(): void {
		for (const rooms of this.rooms.values()) for (const room of rooms) room.channel.reintroduce();
		for (const chat of this.sharedChats()) this.publishList(chat.id);
	}

	/** Peers of other accounts connected in a chat's rooms now. */
	peers(chatId: string): number {
		const devices = new Set<string>();
		for (const room of this.rooms.get(chatId) ?? []) for (const peer of room.channel.authenticatedPeers) if (peer.account !== this.host.accountId) devices.add(peer.device);
		return devices.size;
	}

	get undelivered(): boolean {
		return !this.outbox.isEmpty;
	}

	private scheduleDeposit(): void {
		if (this.depositTimer !== undefined || this.outbox.isEmpty || !this.connected) return;
		this.depositTimer = setTimeout(() => {
			this.depositTimer = undefined;
			void this.depositOwed().then((done) => done || undefined);
		}, DEPOSIT_DELAY_MS);
	}

	/** Leaves what this device wrote in shared chats in each chat's mailbox (its newest epoch's room). */
	async depositOwed(): Promise<boolean> {
		let all = true;
		for (const topic of this.outbox.topics) {
			const chatId = chatOfTopic(topic);
			const room = chatId ? this.rooms.get(chatId)?.find((candidate) => !candidate.handover) : undefined;
			if (!chatId || !this.isShared(chatId) || chatsMap(this.host.account).get(chatId)?.left) {
				const doc = this.host.engine.doc(topic);
				if (doc) this.outbox.delivered(topic, doc, Y.encodeStateVector(doc));
				continue;
			}
			if (!room?.mailbox.online) {
				all = false;
				continue;
			}
			const doc = await this.host.engine.open(topic);
			const { update, vector } = this.outbox.pending(topic, doc);
			if (await room.mailbox.depositUpdate(topic, update)) this.outbox.delivered(topic, doc, vector);
			else all = false;
		}
		if (all) this.emit('changed', undefined);
		return all;
	}

	/** Resolves once every room's mailbox handled what it received so far. */
	async settled(): Promise<void> {
		for (const rooms of this.rooms.values()) for (const room of rooms) await room.mailbox.settled();
	}
}
