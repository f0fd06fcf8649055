/**
 * The contact screens' state: the list of contacts and requests, adding a contact (this account's
 * invite as a QR and a link, a contact's code read by the camera or pasted, an invite link opened
 * in the browser), one contact with its safety code (compared by eye, or its QR scanned from the
 * contact's screen), and a new group.
 *
 * Becoming contacts completes when a device of the other account looks at its invites: while one of
 * these screens is open, this device looks every few seconds, so two people standing side by side
 * see each other appear at once (../people/contacts.ts; the session itself looks once a minute).
 */
import QRCode from 'qrcode';
import { CameraScan } from './camera-scan.svelte';
import { ChatError } from '../chats/shared-chats';
import type { MessageKey } from '../i18n/index.svelte';
import { carriesInvite, ContactError, readInvite, readSafetyCode, writeSafetyCode, type ContactErrorCode } from '../protocol/contacts';
import type { Session } from '../session';
import { app, watched } from './app.svelte';
import { prepareScanner } from './scanner';

/** How often an open contact screen looks for requests and answers. */
const LOOK_INTERVAL_MS = 5000;

export function contactErrorKey(code: ContactErrorCode): MessageKey {
	return `addContact.error.${code}`;
}

/** While a contact screen is open: looks for requests and answers now, and every few seconds. Returns the stop. */
export function lookForAnswers(): () => void {
	const look = () => app.session?.contacts.poll();
	look();
	const timer = setInterval(look, LOOK_INTERVAL_MS);
	return () => clearInterval(timer);
}

/** The name a chat shows: the contact's for a direct chat, else its title. */
export function chatTitle(session: Session, chat: { kind: string; title: string; members?: string[] }): string {
	if (chat.kind !== 'direct') return chat.title;
	const other = chat.members?.[0];
	return (other && session.people.get(other)?.name) || chat.title;
}

/** The direct chat with `accountId`, once the exchange made it. */
export function directChatWith(session: Session, accountId: string): string | undefined {
	return session.chats.list.find((chat) => chat.kind === 'direct' && !!chat.members?.includes(accountId))?.id;
}

export interface ContactRow {
	accountId: string;
	name: string;
	verified: boolean;
	devices: number;
}

export interface PendingRow {
	name: string;
	sentAt: number;
	deleted: boolean;
}

export function contactRows(session: Session): ContactRow[] {
	return session.people.contacts.map((person) => ({
		accountId: person.accountId,
		name: person.name,
		verified: person.verified,
		devices: person.list.devices.length
	}));
}

export function pendingRows(session: Session): PendingRow[] {
	return session.contacts.pending.map((sent) => ({ name: sent.name, sentAt: sent.sentAt, deleted: sent.failed === 'deleted' }));
}

/** Add contact: this account's invite, and a contact's code from the camera, a paste or an opened link. */
export class AddContactFlow {
	link = $state('');
	qrSvg = $state('');
	copied = $state(false);
	/** The camera, while it reads a code at the user's request (CameraScan.svelte draws it). */
	readonly camera = new CameraScan();
	pasted = $state('');
	/** An invite link opened in the browser: the user is asked before anything is sent. */
	offered = $state<{ name: string; text: string } | undefined>();
	/** The request went out for `name`. */
	sent = $state<{ name: string; already: boolean } | undefined>();
	error = $state<ContactErrorCode | undefined>();

	/** Makes this account's invite and its QR; loads the decoder while the user reads, camera off. */
	async start(origin: string): Promise<void> {
		const session = watched();
		if (!session) return;
		prepareScanner();
		// The account's newest invite while it has a day left (the core decides), so visits add no invites to watch.
		const link = session.contacts.createInvite(origin);
		this.link = link;
		const svg = await QRCode.toString(link, { type: 'svg', margin: 4, errorCorrectionLevel: 'M' });
		if (this.link === link) this.qrSvg = svg;
	}

	/**
	 * A link opened in the browser lands here with its invite in the fragment: it is read (and a bad
	 * or expired one explained) but sent only when the user says Add. True when the fragment held one.
	 */
	noteOpenedLink(fragment: string): boolean {
		if (!carriesInvite(fragment)) return false;
		this.sent = undefined;
		this.error = undefined;
		try {
			const invite = readInvite(fragment);
			if (invite.expiresAt <= Date.now()) throw new ContactError('expired');
			this.offered = { name: invite.name, text: fragment };
		} catch (failure) {
			if (!(failure instanceof ContactError)) throw failure;
			this.offered = undefined;
			this.error = failure.code;
		}
		return true;
	}

	/** Sends the request for the invite in `text` (scanned, pasted or opened and confirmed). */
	use(text: string): void {
		const session = watched();
		if (!session) return;
		this.camera.stop();
		this.offered = undefined;
		this.sent = undefined;
		this.error = undefined;
		try {
			const { name, accountId } = session.contacts.accept(text.trim());
			this.sent = { name, already: !!session.people.get(accountId)?.contact };
			this.pasted = '';
			session.contacts.poll();
		} catch (failure) {
			if (!(failure instanceof ContactError)) throw failure;
			this.error = failure.code;
		}
	}

	decline(): void {
		this.offered = undefined;
	}

	/** Starts the camera in `video`, at the user's request; the first code it reads is used. */
	async scan(video: HTMLVideoElement): Promise<void> {
		if (this.camera.scanning) return;
		this.error = undefined;
		await this.camera.start(video, (text) => this.use(text));
	}


	async copy(): Promise<void> {
		await navigator.clipboard.writeText(this.link);
		this.copied = true;
	}

	/** The system's share sheet, where there is one (phones); else the link is copied. */
	async share(text: string): Promise<void> {
		if (!navigator.share) return this.copy();
		try {
			await navigator.share({ text, url: this.link });
		} catch (failure) {
			// The user closed the share sheet: nothing to say.
			if ((failure as Error).name !== 'AbortError') throw failure;
		}
	}

	dispose(): void {
		this.camera.stop();
	}
}

/**
 * What scanning a contact's safety QR came to: the codes match (the contact is now verified), they
 * differ (nothing marked), or the QR held no safety code.
 */
export type SafetyScanOutcome = 'match' | 'mismatch' | 'not-a-code';

/** One contact: its devices, the changes to them, and the safety code to compare by eye or by camera. */
export class ContactModel {
	qrSvg = $state('');
	private qrOf = '';
	/** The camera, while it reads a code at the user's request (CameraScan.svelte draws it). */
	readonly camera = new CameraScan();
	/** The last scan's outcome, for the contact it was made on. */
	private scanned = $state<{ accountId: string; outcome: SafetyScanOutcome } | undefined>();

	constructor(private readonly accountId: () => string) {}

	/** Loads the QR decoder while the user reads, camera off. */
	prepare(): void {
		prepareScanner();
	}

	/** Starts the camera in `video`, at the user's request; the first code it reads is compared. */
	async scan(video: HTMLVideoElement): Promise<void> {
		if (this.camera.scanning) return;
		const accountId = this.accountId();
		this.scanned = undefined;
		await this.camera.start(video, (text) => this.compare(accountId, text));
	}


	/** The outcome of the last scan on this contact's page. */
	get scanOutcome(): SafetyScanOutcome | undefined {
		return this.scanned?.accountId === this.accountId() ? this.scanned.outcome : undefined;
	}

	private compare(accountId: string, text: string): void {
		const session = watched();
		if (!session) return;
		let code: string[];
		try {
			code = readSafetyCode(text);
		} catch (failure) {
			if (!(failure instanceof ContactError)) throw failure;
			this.scanned = { accountId, outcome: 'not-a-code' };
			return;
		}
		this.scanned = { accountId, outcome: session.confirmSafetyCode(accountId, code) ? 'match' : 'mismatch' };
	}

	get view() {
		const session = watched();
		const id = this.accountId();
		const person = session?.people.get(id);
		if (!session || !person?.contact) return undefined;
		return {
			name: person.name,
			verified: person.verified,
			devices: person.list.devices.length,
			notices: session.people.deviceNotices(id),
			code: session.safetyCode(id) ?? [],
			chatId: directChatWith(session, id)
		};
	}

	/** The QR of the safety code (its wire form, ../protocol/contacts.ts), made once per code. */
	async drawCode(code: string[]): Promise<void> {
		if (code.length === 0) return;
		const payload = writeSafetyCode(code);
		if (payload === this.qrOf) return;
		this.qrOf = payload;
		this.qrSvg = await QRCode.toString(payload, { type: 'svg', margin: 4, errorCorrectionLevel: 'M' });
	}

	setVerified(verified: boolean): void {
		this.scanned = undefined;
		watched()?.people.setVerified(this.accountId(), verified);
	}

	dispose(): void {
		this.camera.stop();
	}
}

export type GroupErrorKey = 'group.error.title' | 'group.error.none' | 'group.error.too-many-members' | 'group.error.not-a-contact';

/** New group: a title and the contacts chosen. */
export class NewGroupModel {
	title = $state('');
	chosen = $state<string[]>([]);
	/** Whether every member may add others later, or only this account. */
	membersAdd = $state(true);
	busy = $state(false);
	error = $state<GroupErrorKey | undefined>();
	/** A failure the user cannot act on by choosing again (storage). */
	failure = $state('');

	toggle(accountId: string, on: boolean): void {
		this.chosen = on ? [...new Set([...this.chosen, accountId])] : this.chosen.filter((id) => id !== accountId);
	}

	/** Makes the group; resolves to its chat id, or undefined with `error` set. */
	async create(): Promise<string | undefined> {
		const session = watched();
		if (!session || this.busy) return undefined;
		this.error = undefined;
		this.failure = '';
		const title = this.title.trim();
		if (!title) return void (this.error = 'group.error.title');
		if (this.chosen.length === 0) return void (this.error = 'group.error.none');
		this.busy = true;
		try {
			return await session.shared.createGroup(title, this.chosen, { membersAdd: this.membersAdd });
		} catch (failure) {
			if (failure instanceof ChatError && (failure.code === 'too-many-members' || failure.code === 'not-a-contact')) this.error = `group.error.${failure.code}`;
			else this.failure = (failure as Error).message;
			return undefined;
		} finally {
			this.busy = false;
		}
	}
}
