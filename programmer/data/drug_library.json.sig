{
  "format": "itb-library-signature/1",
  "library_sha256": "a518f9cb36390156de188329934e654ea0b6fb70c9310584fa1a0582e60e896d",
  "signer": "ITB programmer development release",
  "approved": "2026-12-03",
  "key_id": "df2f17cf96c2d719",
  "signature": "EBeO67YMoRVKP/z1/dc+7Ql+gzS4BQD5nVGi4moyzicZ4MS7ocj2AIb6/WCgyAwzz8xx3Usxx3+ReUWIae6NBg=="
}
