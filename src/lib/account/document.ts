/**
 * The account document (topic "account"), shared by all devices of one account:
 *
 *   profile  : Y.Map  name → string
 *   chats    : Y.Map  chatId → ChatRecord
 *   months   : Y.Map  "chatId/YYYY-MM" → true       which monthly message documents exist
 *   read     : Y.Map  "chatId/deviceId" → epoch ms   how far each device has read each chat
 *   names    : Y.Map  deviceId → string             a device's name as its users renamed it
 *   activity : Y.Map  deviceId → epoch ms           when each device was last open (at most hourly)
 *   leaving  : Y.Map  deviceId → base64url note     a companion's signed note that it logged itself out
 *                                                   (../protocol/trust.ts); the primary then takes it off the list
 *   people   : Y.Map  accountId → person            other accounts' keys and newest signed lists (../people/people.ts)
 *   deviceNotices : Y.Map                           other accounts' device changes, for lines in chats (../people/people.ts)
 *   chatKeys : Y.Map  chatId → ChatKeys             the epoch secrets of chats shared with other accounts
 *   invites  : Y.Map  invite secret → OwnInvite     this account's unexpired contact invites (their rooms are watched)
 *   requests : Y.Map  invite secret → SentRequest   contact requests this account sent and awaits an answer to
 *
 * Nothing here decides trust: which devices belong to the account, their roles and keys live in
 * the signed device list (../protocol/trust.ts), which no document can change. A name here only
 * overrides how a listed device is shown. Values are plain JSON so each entry is one Yjs item
 * (see FIELD-NOTES).
 */
import type * as Y from 'yjs';
import { MAX_DEVICE_NAME_LENGTH } from '../protocol/trust';

export const ACCOUNT_TOPIC = 'account';

export interface ChatRecord {
	id: string;
	title: string;
	kind: 'self' | 'direct' | 'group';
	createdAt: number;
	/** The other accounts of a chat shared with them, as this account learnt them (a group's grow in its state document). */
	members?: string[];
	/** This account left the group: it shows what it had, and takes nothing new. */
	left?: boolean;
	/** The group's newest epoch when this account left: only an invitation to a later one adds it back. */
	leftEpoch?: number;
}

/** A shared chat's epoch secrets (base64url), newest last: the newest is where its devices meet. */
export interface ChatKeys {
	epochs: { epoch: number; secret: string }[];
	/** The member accounts the newest epoch was made for: any other set means a rotation. */
	members: string[];
}

export interface OwnInvite {
	/** The invite as shown (QR, link). */
	invite: string;
	expiresAt: number;
	/**
	 * A secret of this account's devices only (never in the QR, base64url): what the chats answered
	 * through this invite derive their first key from.
	 */
	seed: string;
}

export interface SentRequest {
	/** The invite scanned: whose account key the answer must be signed under. */
	invite: string;
	/** The request as deposited, so any device of the account can deposit it again. */
	request: string;
	chatId: string;
	sentAt: number;
	/** The invite's account was deleted: no answer will come. */
	failed?: 'deleted';
}

export function profileMap(doc: Y.Doc): Y.Map<string> {
	return doc.getMap<string>('profile');
}
export function chatsMap(doc: Y.Doc): Y.Map<ChatRecord> {
	return doc.getMap<ChatRecord>('chats');
}
export function monthsMap(doc: Y.Doc): Y.Map<true> {
	return doc.getMap<true>('months');
}
export function readMap(doc: Y.Doc): Y.Map<number> {
	return doc.getMap<number>('read');
}
export function namesMap(doc: Y.Doc): Y.Map<string> {
	return doc.getMap<string>('names');
}
export function activityMap(doc: Y.Doc): Y.Map<number> {
	return doc.getMap<number>('activity');
}

export function leavingMap(doc: Y.Doc): Y.Map<string> {
	return doc.getMap<string>('leaving');
}

/** A peer's document may hold anything: a name is shown only when it is a sensible string. */
export function isDeviceName(value: unknown): value is string {
	return typeof value === 'string' && value.trim().length > 0 && value.length <= MAX_DEVICE_NAME_LENGTH;
}

export function chatKeysMap(doc: Y.Doc): Y.Map<ChatKeys> {
	return doc.getMap<ChatKeys>('chatKeys');
}
export function invitesMap(doc: Y.Doc): Y.Map<OwnInvite> {
	return doc.getMap<OwnInvite>('invites');
}
export function requestsMap(doc: Y.Doc): Y.Map<SentRequest> {
	return doc.getMap<SentRequest>('requests');
}
