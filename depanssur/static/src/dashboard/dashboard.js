/* The manager's dashboard: one read-only call (depanssur.kpi.get_dashboard_data), charts drawn
 * with the Chart.js bundle Odoo's graph view loads; every figure opens the records behind it. */
import { Component, onWillStart, onWillUnmount, useEffect, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { formatFloat, formatMonetary } from "@web/views/fields/formatters";
import { deserializeDate, deserializeDateTime, formatDate } from "@web/core/l10n/dates";

const EMPTY = "–";
const MOVEMENT_COLORS = {
    new: "#2e7d32",
    expansion: "#66bb6a",
    reactivation: "#26a69a",
    contraction: "#ffa726",
    churn: "#e53935",
};

export class DepanssurDashboard extends Component {
    static template = "depanssur.Dashboard";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.actionService = useService("action");
        this.notification = useService("notification");
        this.state = useState({ data: null, rebuilding: false });
        this.canvases = {
            mrr: useRef("mrr"),
            churn: useRef("churn"),
            loss: useRef("loss"),
            nps: useRef("nps"),
            ageing: useRef("ageing"),
            dunning: useRef("dunning"),
        };
        this.charts = [];
        // both at once: the data is asked while the component lives (asked after the chart
        // library has loaded, it fails when the user has already left for another app)
        onWillStart(() => Promise.all([loadBundle("web.chartjs_lib"), this.load()]));
        useEffect(
            () => {
                this.renderCharts();
                return () => this.destroyCharts();
            },
            () => [this.state.data]
        );
        onWillUnmount(() => this.destroyCharts());
    }

    async load() {
        this.state.data = await this.orm.call("depanssur.kpi", "get_dashboard_data", [], {
            months: 12,
        });
    }

    get current() {
        const months = this.state.data.months;
        return months[months.length - 1];
    }

    // --- formatting: amounts with the currency, a missing ratio as "–", dates with the year ---
    money(value) {
        return value === null || value === undefined
            ? EMPTY
            : formatMonetary(value, { currencyId: this.state.data.currency_id });
    }
    number(value, digits = 1) {
        return value === null || value === undefined
            ? EMPTY
            : formatFloat(value, { digits: [false, digits] });
    }
    percent(value) {
        return value === null || value === undefined ? EMPTY : `${this.number(value, 1)} %`;
    }
    date(value) {
        return formatDate(deserializeDate(value));
    }
    dateTime(value) {
        return formatDate(deserializeDateTime(value));
    }
    monthLabel(month) {
        return deserializeDate(month.start).toFormat("LLL yyyy");
    }

    // --- drill-down ---
    open(action) {
        if (!action) {
            return;
        }
        this.actionService.doAction({
            type: "ir.actions.act_window",
            name: action.name,
            res_model: action.res_model,
            domain: action.domain,
            views: [
                [false, "list"],
                [false, "form"],
            ],
            target: "current",
        });
    }
    openRecord(model, id) {
        this.actionService.doAction({
            type: "ir.actions.act_window",
            res_model: model,
            res_id: id,
            views: [[false, "form"]],
            target: "current",
        });
    }

    async rebuild() {
        this.state.rebuilding = true;
        try {
            await this.orm.call("depanssur.kpi.snapshot", "action_rebuild_history", []);
            this.notification.add(_t("The KPI snapshots of the last 12 months are rebuilt."), {
                type: "success",
            });
            await this.load();
        } finally {
            this.state.rebuilding = false;
        }
    }
    openSnapshots() {
        this.actionService.doAction("depanssur.depanssur_kpi_snapshot_action");
    }

    // --- charts ---
    destroyCharts() {
        for (const chart of this.charts) {
            chart.destroy();
        }
        this.charts = [];
    }

    chart(name, config, onPick) {
        const canvas = this.canvases[name].el;
        if (!canvas) {
            return;
        }
        config.options = {
            maintainAspectRatio: false,
            animation: false,
            onClick: (event, elements) => {
                if (elements.length) {
                    onPick(elements[0].datasetIndex, elements[0].index);
                }
            },
            onHover: (event, elements) => {
                event.native.target.style.cursor = elements.length ? "pointer" : "default";
            },
            ...config.options,
        };
        this.charts.push(new Chart(canvas, config));
    }

    renderCharts() {
        this.destroyCharts();
        if (!this.state.data) {
            return;
        }
        const data = this.state.data;
        const months = data.months;
        const labels = months.map((month) => this.monthLabel(month));
        const moneyTick = { callback: (value) => this.money(value) };
        const movements = [
            ["new", _t("New")],
            ["expansion", _t("Expansion")],
            ["reactivation", _t("Reactivation")],
            ["contraction", _t("Contraction")],
            ["churn", _t("Churn")],
        ];
        const moneyTooltip = {
            callbacks: {
                label: (item) => `${item.dataset.label}: ${this.money(item.raw)}`,
            },
        };
        this.chart(
            "mrr",
            {
                type: "bar",
                data: {
                    labels,
                    datasets: [
                        {
                            type: "line",
                            label: _t("MRR"),
                            data: months.map((month) => month.mrr),
                            borderColor: "#1f4e79",
                            backgroundColor: "#1f4e79",
                            yAxisID: "mrr",
                        },
                        ...movements.map(([key, label]) => ({
                            label,
                            data: months.map((month) => month[`${key}_mrr`]),
                            backgroundColor: MOVEMENT_COLORS[key],
                            stack: "movements",
                            yAxisID: "movements",
                        })),
                    ],
                },
                options: {
                    scales: {
                        x: { stacked: true },
                        movements: { stacked: true, position: "left", ticks: moneyTick },
                        mrr: { position: "right", ticks: moneyTick, beginAtZero: true },
                    },
                    plugins: { tooltip: moneyTooltip },
                },
            },
            (datasetIndex, index) => {
                const key = datasetIndex === 0 ? null : movements[datasetIndex - 1][0];
                // the MRR line opens every subscription that moved that month
                const actions = months[index].actions;
                if (key) {
                    this.open(actions[key]);
                } else {
                    const ids = movements.flatMap(([kind]) => actions[kind].domain[0][2]);
                    this.open({ ...actions.new, domain: [["id", "in", ids]] });
                }
            }
        );
        this.chart(
            "churn",
            {
                type: "line",
                data: {
                    labels,
                    datasets: [
                        {
                            label: _t("Logo churn (%)"),
                            data: months.map((month) => month.logo_churn),
                            borderColor: "#e53935",
                            backgroundColor: "#e53935",
                        },
                        {
                            label: _t("Revenue churn (%)"),
                            data: months.map((month) => month.revenue_churn),
                            borderColor: "#fb8c00",
                            backgroundColor: "#fb8c00",
                        },
                    ],
                },
                options: { scales: { y: { beginAtZero: true } } },
            },
            (datasetIndex, index) => this.open(months[index].actions.terminated)
        );
        this.chart(
            "loss",
            {
                type: "bar",
                data: {
                    labels,
                    datasets: [
                        {
                            label: _t("Loss ratio (%)"),
                            data: months.map((month) => month.loss_ratio),
                            backgroundColor: "#8e24aa",
                        },
                    ],
                },
                options: { scales: { y: { beginAtZero: true } } },
            },
            (datasetIndex, index) => this.open(months[index].actions.loss)
        );
        this.chart(
            "nps",
            {
                type: "line",
                data: {
                    labels,
                    datasets: [
                        {
                            label: _t("NPS"),
                            data: months.map((month) => month.nps),
                            borderColor: "#00897b",
                            backgroundColor: "#00897b",
                            spanGaps: true,
                        },
                    ],
                },
                options: { scales: { y: { min: -100, max: 100 } } },
            },
            (datasetIndex, index) => this.open(months[index].actions.nps)
        );
        const buckets = data.ageing.buckets;
        this.chart(
            "ageing",
            {
                type: "bar",
                data: {
                    labels: buckets.map((bucket) => _t("%s days", bucket.key)),
                    datasets: [
                        {
                            label: _t("Open receivables"),
                            data: buckets.map((bucket) => bucket.amount),
                            backgroundColor: ["#43a047", "#fdd835", "#fb8c00", "#e53935"],
                        },
                    ],
                },
                options: {
                    scales: { y: { beginAtZero: true, ticks: moneyTick } },
                    plugins: { legend: { display: false }, tooltip: moneyTooltip },
                },
            },
            (datasetIndex, index) => data.ageing.can_open && this.open(buckets[index].action)
        );
        this.chart(
            "dunning",
            {
                type: "bar",
                data: {
                    labels: data.dunning.map((level) => level.name),
                    datasets: [
                        {
                            label: _t("Cases that reached the level"),
                            data: data.dunning.map((level) => level.reached),
                            backgroundColor: "#5c6bc0",
                        },
                    ],
                },
                options: {
                    indexAxis: "y",
                    scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
                    plugins: { legend: { display: false } },
                },
            },
            (datasetIndex, index) => this.open(data.dunning[index].action)
        );
    }
}

registry.category("actions").add("depanssur.dashboard", DepanssurDashboard);
