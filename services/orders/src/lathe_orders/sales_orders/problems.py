"""How sales-order requests are refused (documented on the routes that can refuse so)."""

from lathe_common.problem_docs import ProblemCode

SALES_ORDER_NOT_FOUND = ProblemCode(404, "sales_order_not_found", "no sales order has that id or number")
CUSTOMER_NOT_FOUND = ProblemCode(404, "customer_not_found", "no customer has that code")
INACTIVE_CUSTOMER = ProblemCode(422, "inactive_customer", "the customer is inactive")
PRODUCT_MODEL_NOT_FOUND = ProblemCode(
    404, "product_model_not_found", "production never announced a product model with that code (`model_code`)"
)
INACTIVE_PRODUCT_MODEL = ProblemCode(422, "inactive_product_model", "the product model is inactive (`model_code`)")
UNKNOWN_CURRENCY = ProblemCode(422, "unknown_currency", "not an ISO 4217 currency with a minor unit")
AMOUNT_TOO_LARGE = ProblemCode(422, "amount_too_large", "a line amount or total beyond what an order can hold")
EXTERNAL_DOCUMENT_EXISTS = ProblemCode(409, "external_document_exists", "that ERP document exists already")
PRECONDITION_REQUIRED = ProblemCode(428, "precondition_required", "send the document's ETag in If-Match")
STALE_DOCUMENT = ProblemCode(
    412, "stale_document", "the document changed since that ETag was read (`current_etag`): read it again"
)
INVALID_STATUS_TRANSITION = ProblemCode(
    409, "invalid_status_transition", "the order cannot move from its status to that one (`current_status`)"
)
HAS_MOVEMENTS = ProblemCode(409, "has_movements", "something shipped against the order: close it instead")
REASON_REQUIRED = ProblemCode(422, "reason_required", "something is still open: closing it short needs a reason")
NOT_EDITABLE = ProblemCode(409, "not_editable", "a CLOSED or CANCELLED order does not change")
NOT_DRAFT = ProblemCode(409, "not_draft", "only drafts are deleted; cancel or close the order instead")
LOCKED_AFTER_CONFIRMATION = ProblemCode(
    409, "locked_after_confirmation", "a confirmed order keeps its customer, currency, items and prices (`fields`)"
)
QUANTITY_BELOW_DONE = ProblemCode(409, "quantity_below_done", "a quantity below what shipped (net of returns)")
LINE_NOT_FOUND = ProblemCode(404, "line_not_found", "the order has no line with that number (`line_no`)")
LINE_CLOSED = ProblemCode(409, "line_closed", "the line is closed short")
LINE_FULFILLED = ProblemCode(409, "line_fulfilled", "the line has nothing open to close")
DUPLICATE_LINE = ProblemCode(422, "duplicate_line", "a request names a line twice")
LINKED_WORK_ORDERS = ProblemCode(409, "linked_work_orders", "work orders refer to the line(s)")
NOT_CONFIRMED = ProblemCode(409, "sales_order_not_confirmed", "only a CONFIRMED order ships or closes lines")
OVER_DELIVERY = ProblemCode(
    409, "over_delivery", "beyond the ordered quantity plus the tolerance (`ordered`, `already`, `allowed`)"
)
OVER_RETURN = ProblemCode(409, "over_return", "more than shipped and not yet returned (`returnable`)")
SERIAL_COUNT_MISMATCH = ProblemCode(
    422, "serial_count_mismatch", "serial numbers given are not one per stock unit of the quantity (`expected`)"
)
DUPLICATE_SERIAL_NUMBERS = ProblemCode(422, "duplicate_serial_numbers", "a request names a unit twice")
SERIAL_NOT_FOUND = ProblemCode(404, "serial_not_found", "production never announced that unit (`serial_number`)")
WRONG_MODEL = ProblemCode(409, "wrong_model", "the unit is of another model than the line's (`model_code`)")
UNIT_NOT_PASSED = ProblemCode(409, "unit_not_passed", "the unit has not PASSED (`unit_status`)")
UNIT_ALREADY_SHIPPED = ProblemCode(
    409, "unit_already_shipped", "the unit is out at a customer (`customer_code`, `shipment_number`, ...)"
)
UNIT_NOT_OUT = ProblemCode(409, "unit_not_out", "the unit is not out at the customer from that line")
SERIAL_NUMBERS_REQUIRED = ProblemCode(
    409, "serial_numbers_required", "units out by serial number come back by serial number"
)

LOOKUPS = (CUSTOMER_NOT_FOUND, INACTIVE_CUSTOMER, PRODUCT_MODEL_NOT_FOUND, INACTIVE_PRODUCT_MODEL)
PRECONDITIONS = (PRECONDITION_REQUIRED, STALE_DOCUMENT)
