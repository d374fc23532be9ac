"""A short wire trace written by hand as docs/trace-format.md describes it, for the reader's and the viewer's tests.

READ_STATUS (seq 7, sealed, its payloads opened on PLAIN lines) is sent, unanswered, resent; a damaged 2-byte chunk
is dropped and the answer arrives in two reads, the driver timing it at 650.25 ms over 2 tries. IDENTIFY (seq 8, in
clear, no DONE line: a version-1 trace) is answered 12.5 ms after it was sent, and a late copy is not taken.
"""

SESSION = """\
2027-03-28T01:59:59.000000 TRACE itb-trace/2 utc_offset=+01:00
2027-03-28T01:59:59.100000 TX seq=7 READ_STATUS sealed: 01 02 03 00
2027-03-28T01:59:59.100100 PLAIN (patient data) TX seq=7 READ_STATUS: {}
2027-03-28T01:59:59.700000 NOTE read status: no answer
2027-03-28T01:59:59.710000 TX seq=7 READ_STATUS sealed resend: 00 01 02 03 00
2027-03-28T01:59:59.720000 RX 02 ff 00 03 01
2027-03-28T01:59:59.720100 DROP crc: computed 0x1A2B, frame carries 0x1A2C: 02 ff
2027-03-28T01:59:59.750000 RX 07 83 00
2027-03-28T01:59:59.750100 FRAME seq=7 READ_STATUS OK (answer (sealed))
2027-03-28T01:59:59.750200 PLAIN (patient data) RX seq=7 READ_STATUS OK: {"reservoir_ml":14.0}
2027-03-28T01:59:59.750300 DONE seq=7 READ_STATUS OK tries=2 elapsed_ms=650.250
2027-03-28T01:59:59.800000 TX seq=8 IDENTIFY: 04 01 08 02 00
2027-03-28T01:59:59.812400 RX 05 01 08 82 01 00 09 01 08 82 01 00
2027-03-28T01:59:59.812500 FRAME seq=8 IDENTIFY OK (answer)
2027-03-28T01:59:59.812700 FRAME seq=8 IDENTIFY OK (ignored: not the answer to seq=9)
""".splitlines()
