/**
 * Becoming contacts by invite (QR or link), also while the other side is offline
 * (../protocol/contacts.ts tells the exchange). Every device of the inviting account watches the
 * rooms of the account's unexpired invites, and every device of the requesting account the rooms of
 * its unanswered requests: a device looks at each such room's mailbox when it connects and once a
 * minute (`poll`), so whichever device is online completes the exchange for its account.
 */
import * as Y from 'yjs';
import { chatsMap, invitesMap, requestsMap, type OwnInvite, type SentRequest } from '../account/document';
import { deriveKey, fromBase64Url, KEY_BYTES, openSealed, randomBytes, sealTo, toBase64Url } from '../crypto';
import type { DeviceKeys } from '../identity/device-keys';
import { epochKeys, roomKeys, type RoomKeys } from '../identity/epochs';
import { RoomMailbox } from '../mailbox/room-mailbox';
import {
	chatKeyAssociated,
	ContactError,
	INVITE_SECRET_BYTES,
	INVITE_TOPIC,
	INVITE_TTL_MS,
	inviteUrl,
	readContactAnswer,
	readContactRequest,
	readInvite,
	writeContactAnswer,
	writeContactRequest,
	writeInvite,
	type Invite
} from '../protocol/contacts';
import { accountIdOf, readIntroduction, readSignedDeviceList, type DeviceList } from '../protocol/trust';
import type { RoomAuth, RoomMode, Transport } from '../transport/types';
import type { Clock } from '../util/clock';
import { Emitter } from '../util/emitter';
import type { SharedChats } from '../chats/shared-chats';
import type { People } from './people';

export interface ContactsHost {
	keys: DeviceKeys;
	accountId: string;
	account: Y.Doc;
	people: People;
	shared: SharedChats;
	clock: Clock;
	transport(room: string, auth?: RoomAuth, mode?: RoomMode): Transport;
	introduction(): Uint8Array;
	ownList(): DeviceList;
	accountName(): string;
}

/** An invite is shown again while it has more than this left. */
const REUSE_MIN_LEFT_MS = 24 * 60 * 60 * 1000;

/** The fixed room of an invite: its psk and mailbox key derive from the invite's secret. */
function inviteRoom(secret: Uint8Array): RoomKeys {
	return roomKeys(epochKeys({ epoch: 0, secret: deriveKey(secret, 'samen/v1/invite') }), 0);
}

/** The signing key of the device `deviceId` on the list inside `introduction` (undefined: not listed or not a list). */
function signKeyIn(introduction: Uint8Array, deviceId: string, expectedKey?: Uint8Array): Uint8Array | undefined {
	try {
		const list = readSignedDeviceList(readIntroduction(introduction).deviceList);
		if (expectedKey && toBase64Url(list.accountKey) !== toBase64Url(expectedKey)) return undefined;
		return list.devices.find((device) => device.id === deviceId)?.signKey;
	} catch {
		return undefined;
	}
}

export class Contacts extends Emitter<{ changed: void }> {
	private connected = false;
	/** Deposits under way, so a caller can wait for what this device sent to be stored. */
	private readonly deposits = new Set<Promise<unknown>>();
	private readonly open = new Map<string, { transport: Transport; mailbox: RoomMailbox; caughtUp: Promise<void> }>();
	/** Contact messages that were malformed, forged or for someone else. */
	refused = 0;

	constructor(private readonly host: ContactsHost) {
		super();
	}

	/**
	 * This account's invite, as a link to show as a QR or to send: the newest one while it has more
	 * than a day left (an invite holds for anyone it is shown to), else a new one.
	 */
	createInvite(origin: string): string {
		const now = this.host.clock();
		let newest: OwnInvite | undefined;
		for (const entry of invitesMap(this.host.account).values()) if (typeof entry?.expiresAt === 'number' && (!newest || entry.expiresAt > newest.expiresAt)) newest = entry;
		if (newest && newest.expiresAt - now > REUSE_MIN_LEFT_MS) return inviteUrl(origin, newest.invite);
		const secret = randomBytes(INVITE_SECRET_BYTES);
		const invite = writeInvite({ accountKey: this.host.ownList().accountKey, secret, expiresAt: now + INVITE_TTL_MS, name: this.host.accountName() });
		const entry: OwnInvite = { invite, expiresAt: now + INVITE_TTL_MS, seed: toBase64Url(randomBytes(KEY_BYTES)) };
		invitesMap(this.host.account).set(toBase64Url(secret), entry);
		this.watch();
		return inviteUrl(origin, invite);
	}

	/**
	 * Asks to become the contact of the invite's account; the answer completes it, now or when one of
	 * that account's devices is next online. Throws ContactError for an invite that is malformed,
	 * expired or this account's own.
	 */
	accept(text: string): { name: string; accountId: string } {
		const invite = readInvite(text);
		const accountId = accountIdOf(invite.accountKey);
		if (accountId === this.host.accountId) throw new ContactError('own-account');
		if (invite.expiresAt <= this.host.clock()) throw new ContactError('expired');
		const key = toBase64Url(invite.secret);
		const known = this.host.people.get(accountId);
		if (known?.list.deleted) throw new ContactError('deleted');
		if (known?.contact || requestsMap(this.host.account).has(key)) return { name: known?.name || invite.name, accountId };
		const chatId = toBase64Url(randomBytes(12));
		const request = writeContactRequest(
			{ introduction: this.host.introduction(), name: this.host.accountName(), chatId, sentAt: this.host.clock() },
			{ id: this.host.keys.id, signSecret: this.host.keys.signing.secretKey }
		);
		const sent: SentRequest = { invite: text.trim().slice(text.trim().lastIndexOf('#') + 1).replace(/^contact=/, ''), request: toBase64Url(request), chatId, sentAt: this.host.clock() };
		requestsMap(this.host.account).set(key, sent);
		this.watch();
		return { name: invite.name, accountId };
	}

	/** How many unexpired invites this account has out. */
	get invites(): number {
		return invitesMap(this.host.account).size;
	}

	/** Requests this account sent that are not answered yet, with the names their invites showed. */
	get pending(): { name: string; sentAt: number; failed?: 'deleted' }[] {
		const result: { name: string; sentAt: number; failed?: 'deleted' }[] = [];
		for (const sent of requestsMap(this.host.account).values()) {
			try {
				result.push({ name: readInvite(sent.invite).name, sentAt: sent.sentAt, failed: sent.failed });
			} catch {
				// A damaged entry is dropped by the next poll.
			}
		}
		return result;
	}

	private track(deposit: Promise<unknown>): void {
		this.deposits.add(deposit);
		void deposit.finally(() => this.deposits.delete(deposit));
	}

	/** Resolves once every watched room's mailbox was looked at and handled, and what this device deposited is stored. */
	async settled(): Promise<void> {
		for (const room of this.open.values()) await room.caughtUp;
		while (this.deposits.size > 0) await Promise.all([...this.deposits]);
	}

	connect(): void {
		this.connected = true;
		this.watch();
	}

	disconnect(): void {
		this.connected = false;
		for (const room of this.open.values()) {
			room.mailbox.close();
			room.transport.close();
		}
		this.open.clear();
	}

	/** This account's list changed (a device, or the account deleted): its invites' rooms say so. */
	reintroduce(): void {
		const invites = invitesMap(this.host.account);
		for (const [key, room] of this.open) if (invites.has(key)) room.mailbox.depositIntroduction(this.host.introduction());
	}

	/** Looks at every watched room's mailbox again (the server hands out what waits when a room is joined). */
	poll(): void {
		if (!this.connected) return;
		for (const room of this.open.values()) {
			room.mailbox.close();
			room.transport.close();
		}
		this.open.clear();
		this.watch();
	}

	/** The rooms to watch: unexpired own invites, unanswered requests. */
	private watch(): void {
		if (!this.connected) return;
		const now = this.host.clock();
		const invites = invitesMap(this.host.account);
		for (const [key, entry] of invites) {
			if (typeof entry?.expiresAt !== 'number' || entry.expiresAt <= now) {
				invites.delete(key);
				continue;
			}
			this.watchRoom(key, (doc) => this.answerRequests(key, doc), undefined, undefined, true);
		}
		const requests = requestsMap(this.host.account);
		for (const [key, sent] of requests) {
			let invite: Invite;
			try {
				invite = readInvite(sent.invite);
			} catch {
				requests.delete(key);
				continue;
			}
			// The inviting account keeps its invite rooms 7 days; a request waits as long as the mailbox keeps it.
			if (sent.sentAt + 30 * 24 * 60 * 60 * 1000 <= now) {
				requests.delete(key);
				continue;
			}
			if (sent.failed) continue;
			const deleted = (introduction: Uint8Array) => {
				// The inviting account's last word, signed by its key: it was deleted.
				try {
					const list = readSignedDeviceList(readIntroduction(introduction).deviceList);
					if (!list.deleted || toBase64Url(list.accountKey) !== toBase64Url(invite.accountKey)) return;
				} catch {
					return;
				}
				const entry = requests.get(key);
				if (entry && !entry.failed) requests.set(key, { ...entry, failed: 'deleted' });
				this.emit('changed', undefined);
			};
			this.watchRoom(key, (doc) => this.takeAnswer(key, invite, sent, doc), deleted, (doc) => {
				// Deposited once: what the mailbox already holds is not deposited again at every look.
				if (doc.getMap<string>('requests').get(this.host.accountId) === sent.request) return false;
				doc.getMap<string>('requests').set(this.host.accountId, sent.request);
				return true;
			});
		}
		for (const [key, room] of this.open) {
			if (invites.has(key) || requests.has(key)) continue;
			room.mailbox.close();
			room.transport.close();
			this.open.delete(key);
		}
	}

	/** Joins an invite's room for its mailbox; `handle` sees the exchange document; `write` adds to it before it is deposited. */
	private watchRoom(
		key: string,
		handle: (doc: Y.Doc) => void,
		introduction?: (introduction: Uint8Array) => void,
		write?: (doc: Y.Doc) => boolean,
		/** This account's own invite: its introduction waits there (so a deleted account says so). */
		own = false
	): void {
		if (this.open.has(key)) return;
		let secret: Uint8Array;
		try {
			secret = fromBase64Url(key);
		} catch {
			return;
		}
		const keys = inviteRoom(secret);
		const transport = this.host.transport(keys.room, keys.roomAuth, 'mailbox');
		const doc = new Y.Doc();
		let caughtUp!: () => void;
		const handled = new Promise<void>((resolve) => (caughtUp = resolve));
		const mailbox = new RoomMailbox(
			transport,
			keys,
			{
				update: async (topic, update) => {
					if (topic !== INVITE_TOPIC) return false;
					try {
						Y.applyUpdate(doc, update);
					} catch {
						return false;
					}
					return true;
				},
				introduction: (bytes) => introduction?.(bytes),
				caughtUp: () => {
					if (own) mailbox.depositIntroduction(this.host.introduction());
					handle(doc);
					if (write?.(doc)) this.track(mailbox.depositUpdate(INVITE_TOPIC, Y.encodeStateAsUpdate(doc)));
					caughtUp();
				}
			},
			() => false
		);
		this.open.set(key, { transport, mailbox, caughtUp: handled });
		transport.connect();
	}

	/** On the inviting side: each request not answered yet becomes a contact, a chat and an answer. */
	private answerRequests(key: string, doc: Y.Doc): void {
		const invite = invitesMap(this.host.account).get(key);
		if (!invite) return;
		const answers = doc.getMap<string>('answers');
		let wrote = false;
		for (const [accountId, text] of doc.getMap<string>('requests')) {
			try {
				const request = readContactRequest(fromBase64Url(String(text)), (deviceId, introduction) => signKeyIn(introduction, deviceId));
				const requester = this.host.people.considerIntroduction(request.introduction, undefined, request.name);
				if (!requester || requester !== accountId || requester === this.host.accountId) throw new ContactError('forged');
				const person = this.host.people.get(requester)!;
				// Any device of this account derives the same chat secret, so two of them answering agree;
				// from the account's own seed, not the invite's secret, which whoever saw the QR knows.
				const secret = deriveKey(fromBase64Url(invite.seed), `samen/v1/direct-chat/${request.chatId}/${requester}`);
				if (!chatsMap(this.host.account).has(request.chatId)) {
					this.host.people.markContact(requester, request.name, this.host.clock());
					void this.host.shared.add(
						{ id: request.chatId, kind: 'direct', title: '', members: [requester], createdAt: request.sentAt },
						secret,
						1,
						true
					);
				}
				if (answers.has(accountId)) continue;
				const boxes = person.list.devices.map((device) => ({
					deviceId: device.id,
					box: sealTo(device.agreeKey, secret, chatKeyAssociated(request.chatId, 1, device.id))
				}));
				const answer = writeContactAnswer(
					{ introduction: this.host.introduction(), name: this.host.accountName(), chatId: request.chatId, requesterKey: person.accountKey, boxes },
					{ id: this.host.keys.id, signSecret: this.host.keys.signing.secretKey }
				);
				answers.set(accountId, toBase64Url(answer));
				wrote = true;
			} catch {
				this.refused++;
			}
		}
		const mailbox = this.open.get(key)?.mailbox;
		if (wrote && mailbox) this.track(mailbox.depositUpdate(INVITE_TOPIC, Y.encodeStateAsUpdate(doc)));
		this.emit('changed', undefined);
	}

	/** On the requesting side: the answer, once there, makes the contact and the chat. */
	private takeAnswer(key: string, invite: Invite, sent: SentRequest, doc: Y.Doc): void {
		const text = doc.getMap<string>('answers').get(this.host.accountId);
		if (typeof text !== 'string') return;
		try {
			const answer = readContactAnswer(fromBase64Url(text), (deviceId, introduction) => signKeyIn(introduction, deviceId, invite.accountKey));
			if (answer.chatId !== sent.chatId || toBase64Url(answer.requesterKey) !== toBase64Url(this.host.ownList().accountKey)) throw new ContactError('forged');
			const accountId = this.host.people.considerIntroduction(answer.introduction, invite.accountKey, answer.name);
			if (!accountId) throw new ContactError('forged');
			const box = answer.boxes.find((candidate) => candidate.deviceId === this.host.keys.id);
			// A device linked after the request has no box: another device of this account takes the answer.
			if (!box) return;
			const secret = openSealed(this.host.keys.agreement, box.box, chatKeyAssociated(answer.chatId, 1, this.host.keys.id));
			if (secret.length !== KEY_BYTES) throw new ContactError('forged');
			this.host.people.markContact(accountId, answer.name, this.host.clock());
			void this.host.shared.add({ id: answer.chatId, kind: 'direct', title: '', members: [accountId], createdAt: sent.sentAt }, secret);
			requestsMap(this.host.account).delete(key);
			this.emit('changed', undefined);
		} catch {
			this.refused++;
		}
	}
}
