/** What the benchmarks share: percentiles, waiting on a session, and linking a device in Node. */
import { LinkApproval } from '../src/lib/linking/approval';
import { LinkInvitation } from '../src/lib/linking/invitation';
import type { LinkState } from '../src/lib/linking/state';
import { Session, type JoinedAccount, type Platform } from '../src/lib/session';
import { webRtcPlatform } from '../tests/helpers/node-webrtc';

export function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function whenState(emitter: LinkApproval | LinkInvitation, kind: LinkState['kind']): Promise<void> {
	return new Promise((resolve, reject) => {
		const check = (state: LinkState) => {
			if (state.kind === kind) resolve();
			else if (state.kind === 'failed') reject(new Error(`link failed: ${state.error}`));
		};
		(emitter as LinkApproval).on('state', check);
		check(emitter.state);
	});
}

export function whenTrue(device: Session, check: () => boolean): Promise<void> {
	return new Promise((resolve) => {
		if (check()) return resolve();
		const stop = device.on('changed', () => {
			if (check()) {
				stop();
				resolve();
			}
		});
	});
}

/**
 * Links a new device on `platform` (by default a fresh one in Node with real WebRTC) through the
 * real link flow, both users confirming, and connects it; `confirmedAt` is when the primary confirmed.
 */
export async function linkDevice(serverUrl: string, primary: Session, name: string, platform: Platform = webRtcPlatform(serverUrl)) {
	const approvalPlatform = webRtcPlatform(serverUrl);
	const invitation = new LinkInvitation(name, 'phone', platform.transport, platform.clock);
	const joined = new Promise<JoinedAccount>((resolve) => invitation.on('joined', resolve));
	invitation.start();
	const approval = new LinkApproval(invitation.payload, primary, approvalPlatform.transport, Date.now);
	approval.start();
	await Promise.all([whenState(approval, 'confirm'), whenState(invitation, 'confirm')]);
	invitation.confirm();
	const confirmedAt = performance.now();
	approval.confirm();
	const device = await Session.join(platform, await joined);
	device.connect();
	return { device, confirmedAt };
}
