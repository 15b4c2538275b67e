import { registry } from "@web/core/registry";
import { kanbanView } from "@web/views/kanban/kanban_view";
import { RelationalModel } from "@web/model/relational_model/relational_model";

export class RoomMonitoringModel extends RelationalModel {
    // A plaza has more floors than the ten columns Odoo opens by default; the point of the
    // screen is to see every room at once, so no floor folds away.
    static MAX_NUMBER_OPENED_GROUPS = Number.MAX_SAFE_INTEGER;
}

export const roomMonitoringKanbanView = {
    ...kanbanView,
    Model: RoomMonitoringModel,
    buttonTemplate: "prepaid_meter.RoomMonitoringButtons",
};

registry.category("views").add("prepaid_room_monitoring_kanban", roomMonitoringKanbanView);
