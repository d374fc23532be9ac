{
  "format": "itb-library-signature/1",
  "library_sha256": "7dfca757096bcfd50dbc52521b9518289b290f44060d62a9020fc134dd7bf563",
  "signer": "ITB programmer development release",
  "approved": "2026-12-03",
  "key_id": "df2f17cf96c2d719",
  "signature": "UGi6FrOa7HPndgUj/te3g+w5VMwjsNJ6HtyKBS1K/kCGTdFeUKUqLz80Z6n93Ki3Qg7BFmN95VMC1i1EX5gjAA=="
}
