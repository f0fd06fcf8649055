import wrtc from '@roamhq/wrtc';
import { describe, expect, it } from 'vitest';
import { canOpenDataChannels } from '../../src/lib/platform/webrtc';

describe('whether this browser can open data channels', () => {
	it('can with a working RTCPeerConnection', () => {
		expect(canOpenDataChannels({ RTCPeerConnection: wrtc.RTCPeerConnection })).toBe(true);
	});

	it('cannot without one (a browser built without WebRTC, or Firefox with it switched off)', () => {
		expect(canOpenDataChannels({})).toBe(false);
		expect(canOpenDataChannels({ RTCPeerConnection: undefined })).toBe(false);
	});

	it('cannot when the constructor throws (a privacy extension) or has no data channels', () => {
		expect(
			canOpenDataChannels({
				RTCPeerConnection: function Blocked() {
					throw new Error('WebRTC is blocked');
				}
			})
		).toBe(false);
		let closed = false;
		class NoDataChannels {
			close() {
				closed = true;
			}
		}
		expect(canOpenDataChannels({ RTCPeerConnection: NoDataChannels })).toBe(false);
		expect(closed).toBe(true);
	});
});
