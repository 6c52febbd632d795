// The two static areas shared with the host: the input window (the host writes payload bytes, the
// plugin reads them during the call) and the output area (the plugin writes records, the host reads
// them after the call). Both are reserved at build time: no allocation per call.
import { INPUT_CAP, OUT_SIZE } from './layout';

export const INPUT: usize = memory.data(INPUT_CAP, 16);
export const OUT: usize = memory.data(OUT_SIZE, 16);
