// The VSL tag table of Varnish 7.1 (from vsl(7)), as data: the query language resolves tag names and globs
// against it, case-insensitively, as VSL_Name2Tag and VSL_Glob2Tags do.

export const TAGS: ReadonlyArray<readonly [name: string, description: string]> = [
  ['Backend', 'Backend selected'],
  ['BackendClose', 'Backend connection closed'],
  ['BackendOpen', 'Backend connection opened'],
  ['BackendReuse', 'Backend connection put up for reuse'],
  ['BackendStart', 'Backend request start'],
  ['Backend_health', 'Backend health check'],
  ['Begin', 'Marks the start of a VXID'],
  ['BereqAcct', 'Backend request accounting'],
  ['BereqHeader', 'Backend request header'],
  ['BereqMethod', 'Backend request method'],
  ['BereqProtocol', 'Backend request protocol'],
  ['BereqURL', 'Backend request URL'],
  ['BereqUnset', 'Backend request unset header'],
  ['BerespHeader', 'Backend response header'],
  ['BerespProtocol', 'Backend response protocol'],
  ['BerespReason', 'Backend response reason'],
  ['BerespStatus', 'Backend response status'],
  ['BerespUnset', 'Backend response unset header'],
  ['BogoHeader', 'Bogus HTTP received'],
  ['CLI', 'CLI communication'],
  ['Debug', 'Debug messages'],
  ['ESI_xmlerror', 'ESI parser error or warning message'],
  ['End', 'Marks the end of a VXID'],
  ['Error', 'Error messages'],
  ['ExpBan', 'Object evicted due to ban'],
  ['ExpKill', 'Object expiry event'],
  ['FetchError', 'Error while fetching object'],
  ['Fetch_Body', 'Body fetched from backend'],
  ['Filters', 'Body filters'],
  ['Gzip', 'G(un)zip performed on object'],
  ['H2RxBody', 'Received HTTP2 frame body'],
  ['H2RxHdr', 'Received HTTP2 frame header'],
  ['H2TxBody', 'Transmitted HTTP2 frame body'],
  ['H2TxHdr', 'Transmitted HTTP2 frame header'],
  ['Hash', 'Value added to hash'],
  ['Hit', 'Hit object in cache'],
  ['HitMiss', 'Hit for miss object in cache'],
  ['HitPass', 'Hit for pass object in cache'],
  ['HttpGarbage', 'Unparseable HTTP request'],
  ['Length', 'Size of object body'],
  ['Link', 'Links to a child VXID'],
  ['LostHeader', 'Failed attempt to set HTTP header'],
  ['Notice', 'Informational messages about request handling'],
  ['ObjHeader', 'Object header'],
  ['ObjProtocol', 'Object protocol'],
  ['ObjReason', 'Object reason'],
  ['ObjStatus', 'Object status'],
  ['ObjUnset', 'Object unset header'],
  ['PipeAcct', 'Pipe byte counts'],
  ['Proxy', 'PROXY protocol information'],
  ['ProxyGarbage', 'Unparseable PROXY request'],
  ['ReqAcct', 'Request handling byte counts'],
  ['ReqHeader', 'Client request header'],
  ['ReqMethod', 'Client request method'],
  ['ReqProtocol', 'Client request protocol'],
  ['ReqStart', 'Client request start'],
  ['ReqURL', 'Client request URL'],
  ['ReqUnset', 'Client request unset header'],
  ['RespHeader', 'Client response header'],
  ['RespProtocol', 'Client response protocol'],
  ['RespReason', 'Client response reason'],
  ['RespStatus', 'Client response status'],
  ['RespUnset', 'Client response unset header'],
  ['SessClose', 'Client connection closed'],
  ['SessError', 'Client connection accept failed'],
  ['SessOpen', 'Client connection opened'],
  ['Storage', 'Where object is stored'],
  ['TTL', 'TTL set on object'],
  ['Timestamp', 'Timing information'],
  ['VCL_Error', 'VCL execution error message'],
  ['VCL_Log', 'Log statement from VCL'],
  ['VCL_acl', 'VCL ACL check results'],
  ['VCL_call', 'VCL method called'],
  ['VCL_return', 'VCL method return value'],
  ['VCL_trace', 'VCL trace data'],
  ['VCL_use', 'VCL in use'],
  ['VSL', 'VSL API warnings and error message'],
  ['VdpAcct', 'Deliver filter accounting'],
  ['VfpAcct', 'Fetch filter accounting'],
  ['Witness', 'Lock order witness records'],
  ['WorkThread', 'Logs thread start/stop events'],
]

/** Tag names by lower-case name. */
export const TAG_BY_LOWER: ReadonlyMap<string, string> = new Map(TAGS.map(([n]) => [n.toLowerCase(), n]))

/** Tags matching a name or a glob with one `*` at the start, the end, or both (`Req*`, `*Error`, `*`);
 *  case-insensitive. Empty when nothing matches. */
export function globTags(glob: string): string[] {
  const g = glob.toLowerCase()
  const star = g.indexOf('*')
  if (star < 0) {
    const t = TAG_BY_LOWER.get(g)
    return t === undefined ? [] : [t]
  }
  const head = g.slice(0, star)
  const tail = g.slice(star + 1)
  if (tail.includes('*')) return []
  return TAGS.map(([n]) => n).filter((n) => {
    const l = n.toLowerCase()
    return l.length >= head.length + tail.length && l.startsWith(head) && l.endsWith(tail)
  })
}
