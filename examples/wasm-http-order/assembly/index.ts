// HTTP hooks example: lifts the tenant (x-tenant-id header) and the order id (order_id in a JSON body)
// into span attributes, and turns a JSON {"error": "..."} response body into the span's status.
import { HttpMessage, Message, Parser, registerHttpHooks, STATUS_ERROR } from "wasm-sdk";
export * from "wasm-sdk/abi";

class OrderHooks extends Parser {
  onHttpRequest(http: HttpMessage, out: Message): void {
    if (http.header("x-tenant-id")) out.attrSlice("app.tenant.id", http.value);
    if (http.jsonField("order_id")) out.attrSlice("app.order.id", http.value);
  }

  onHttpResponse(http: HttpMessage, out: Message): void {
    if (http.jsonField("order_id")) out.attrSlice("app.order.id", http.value);
    if (http.statusCode() >= 400 && http.jsonField("error")) {
      out.spanStatusBytes(STATUS_ERROR, http.value.start, http.value.length);
    }
  }
}

registerHttpHooks<OrderHooks>("order_hooks");
