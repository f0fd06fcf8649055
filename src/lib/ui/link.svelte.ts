/**
 * The two linking screens' state. The new device shows an invitation (`InvitationFlow`); the
 * primary answers one that its user scanned or pasted (`ApprovalFlow`). Both users confirm the same
 * six-digit code before the account moves (../linking/). Opening a link never starts an approval.
 */
import QRCode from 'qrcode';
import type { MessageKey } from '../i18n/index.svelte';
import { CameraScan } from './camera-scan.svelte';
import { LinkApproval } from '../linking/approval';
import { LinkInvitation } from '../linking/invitation';
import { isFinished, type LinkState } from '../linking/state';
import { browserPlatform } from '../platform/browser';
import { carriesLinkPayload, LinkError, linkUrl, type LinkErrorCode } from '../protocol/link';
import { Session } from '../session';
import { app, watched } from './app.svelte';
import { thisDevice } from './device-info';
import { prepareScanner } from './scanner';

/** What the new device says for a failed link: it is the one to make a new code. */
export function invitationErrorKey(error: LinkErrorCode): MessageKey {
	if (error === 'expired' || error === 'too-many-devices') return `invite.error.${error}`;
	return `link.error.${error}`;
}

/** What the primary says for a failed link. */
export function approvalErrorKey(error: LinkErrorCode): MessageKey {
	if (error === 'too-many-devices') return 'approve.error.too-many-devices';
	return `link.error.${error}`;
}

export class InvitationFlow {
	state = $state<LinkState>({ kind: 'waiting' });
	link = $state('');
	qrSvg = $state('');
	expiresAt = $state(0);
	now = $state(Date.now());
	deviceName = $state(thisDevice().name);
	copied = $state(false);
	/** Why this device could not take the account it was given (a storage failure). */
	joinError = $state('');
	private invitation?: LinkInvitation;
	private readonly ticker = setInterval(() => (this.now = Date.now()), 1000);

	constructor(private readonly onJoined: (session: Session) => void) {}

	get secondsLeft(): number {
		return Math.max(0, Math.ceil((this.expiresAt - this.now) / 1000));
	}

	/**
	 * Makes a new invitation (and drops the one before): a new code, a new QR. Nothing in a browser
	 * without WebRTC: no primary could ever answer it (the screen explains instead).
	 */
	async start(): Promise<void> {
		if (!app.peerToPeer) return;
		this.invitation?.cancel();
		const platform = browserPlatform();
		const invitation = new LinkInvitation(this.deviceName.trim() || thisDevice().name, thisDevice().kind, platform.transport, platform.clock);
		this.invitation = invitation;
		this.state = invitation.state;
		this.expiresAt = invitation.expiresAt;
		this.now = Date.now();
		this.copied = false;
		this.joinError = '';
		this.link = linkUrl(location.origin, invitation.payload);
		invitation.on('state', (state) => {
			if (this.invitation === invitation) this.state = state;
		});
		invitation.on('joined', (joined) => {
			Session.join(platform, joined).then(this.onJoined, (failure: Error) => (this.joinError = failure.message));
		});
		invitation.start();
		const svg = await QRCode.toString(this.link, { type: 'svg', margin: 4, errorCorrectionLevel: 'M' });
		if (this.invitation === invitation) this.qrSvg = svg;
	}

	/** The name is sent when the primary answers; until then it may change. */
	rename(name: string): void {
		this.deviceName = name;
		if (this.invitation) this.invitation.deviceName = name.trim() || thisDevice().name;
	}

	async copy(): Promise<void> {
		await navigator.clipboard.writeText(this.link);
		this.copied = true;
	}

	/** "Yes": the primary shows the same code. */
	confirm(): void {
		this.invitation?.confirm();
	}

	/** "No", or Cancel: the primary is told, and this invitation is spent. */
	cancel(): void {
		this.invitation?.cancel();
	}

	dispose(): void {
		clearInterval(this.ticker);
		if (this.invitation && !isFinished(this.invitation.state)) this.invitation.cancel();
	}
}

export class ApprovalFlow {
	/** Undefined while the user chooses how to read the code (camera or paste). */
	state = $state<LinkState | undefined>();
	/** The camera, while it reads a code at the user's request (CameraScan.svelte draws it). */
	readonly camera = new CameraScan();
	pasted = $state('');
	/** This page was opened from a link: explained, never used. */
	openedLink = $state(false);
	private approval?: LinkApproval;

	/**
	 * A link opened in the browser lands here with its payload in the fragment. Following a link
	 * must not link anything: the fragment is dropped and the user is told how linking works.
	 */
	noteOpenedLink(fragment: string): boolean {
		this.openedLink = carriesLinkPayload(fragment);
		return this.openedLink;
	}

	/** Loads the QR decoder while the user reads the screen; the camera stays off. */
	prepareCamera(): void {
		if (app.peerToPeer) prepareScanner();
	}

	/** Answers the invitation `text` (scanned or pasted) as this primary; nothing without WebRTC. */
	use(text: string): void {
		const session = watched();
		if (!session || !app.peerToPeer || (this.approval && !isFinished(this.approval.state))) return;
		this.camera.stop();
		this.openedLink = false;
		const platform = browserPlatform();
		try {
			const approval = new LinkApproval(text.trim(), session, platform.transport, platform.clock);
			this.approval = approval;
			this.state = approval.state;
			approval.on('state', (state) => {
				if (this.approval === approval) this.state = state;
			});
			approval.start();
		} catch (error) {
			if (!(error instanceof LinkError)) throw error;
			this.approval = undefined;
			this.state = { kind: 'failed', error: error.code };
		}
	}

	/** Starts the camera in `video`, at the user's request; the first code it reads is used. */
	async scan(video: HTMLVideoElement): Promise<void> {
		if (this.camera.scanning || !app.peerToPeer) return;
		await this.camera.start(video, (text) => this.use(text));
	}


	confirm(): void {
		this.approval?.confirm();
	}

	/** "No", or Cancel: the new device is told. */
	decline(): void {
		this.approval?.decline();
	}

	/** Back to choosing camera or paste. */
	retry(): void {
		this.decline();
		this.approval = undefined;
		this.state = undefined;
		this.pasted = '';
	}

	dispose(): void {
		this.camera.stop();
		this.decline();
	}
}
