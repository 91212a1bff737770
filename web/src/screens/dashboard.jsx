// The dashboard (owner or manager): the program's money as the server computes it from the
// ledger (GET /reports/dashboard/): members, sales through the program and their share, repeat
// rate, average check, the points liability, what expires in the next months, accrued and spent
// per day, the top customers.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { get, qs } from '../api.js';
import { lang, t } from '../i18n.js';
import { Loading, Table, money, rub, useLoad } from '../ui.jsx';

function Tile({ label, value, sub, test }) {
  return (
    <div class="tile" data-test={test}>
      <div class="tile-label">{label}</div>
      <div class="tile-value">{value}</div>
      {sub && <div class="tile-sub muted">{sub}</div>}
    </div>
  );
}

function Chart({ daily }) {
  const ref = useRef(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const xs = daily.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
    const data = [xs, daily.map((d) => Number(d.accrued)), daily.map((d) => Number(d.spent))];
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 240,
        scales: { x: { time: true } },
        series: [{ label: t('date') }, { label: t('dash.accrued'), stroke: '#2f7d32', width: 2 }, { label: t('dash.spent'), stroke: '#c0392b', width: 2 }],
        axes: [{}, { size: 60 }],
      },
      data,
      el,
    );
    const onResize = () => plot.setSize({ width: width(), height: 240 });
    addEventListener('resize', onResize);
    return () => {
      removeEventListener('resize', onResize);
      plot.destroy();
    };
  }, [daily, lang()]);
  return <div ref={ref} class="chart" role="img" aria-label={t('dash.chart')} data-test="chart" />;
}

export function Dashboard() {
  const [days, setDays] = useState(30);
  const report = useLoad(() => get(`/reports/dashboard/${qs({ days })}`), [days]);
  return (
    <section>
      <div class="title-row">
        <h1>{t('nav.dashboard')}</h1>
        <label class="inline">
          {t('dash.period')}{' '}
          <select value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            {[7, 30, 90].map((n) => (
              <option value={n} key={n}>
                {t('dash.days', { n })}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Loading state={report}>
        {(r) => (
          <>
            <div class="tiles">
              <Tile test="members" label={t('dash.members')} value={money(r.members)} sub={t('dash.newThisMonth', { n: money(r.newMembersThisMonth) })} />
              <Tile test="program-sales" label={t('dash.programSales')} value={rub(r.sales.programAmount)} sub={t('dash.share', { p: money(r.sales.programSharePercent), all: rub(r.sales.allAmount) })} />
              <Tile test="repeat" label={t('dash.repeat')} value={`${money(r.repeatPurchaseRatePercent)} %`} />
              <Tile test="average" label={t('dash.average')} value={rub(r.averageCheck)} />
              <Tile test="outstanding" label={t('dash.outstanding')} value={money(r.pointsOutstanding, t('currency.points'))} sub={rub(r.pointsOutstandingRub)} />
            </div>
            <h2>{t('dash.expiring')}</h2>
            <ul class="expiring" data-test="expiring">
              {r.expiring.map((x) => (
                <li key={x.month}>
                  <span>{new Intl.DateTimeFormat(lang() === 'ru' ? 'ru-RU' : 'en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${x.month}-01T00:00:00Z`))}</span>
                  <strong>{money(x.points, t('currency.points'))}</strong>
                </li>
              ))}
            </ul>
            <h2>{t('dash.perDay')}</h2>
            <Chart daily={r.daily} />
            <h2>{t('dash.top')}</h2>
            <Table
              test="top"
              rows={r.topClients}
              cols={[
                { label: t('customer.name'), cell: (c) => <a href={`#/customers/${c.id}`}>{c.name || t('customer.noname')}</a> },
                { label: t('customer.phone'), cell: (c) => c.phone || '—' },
                { label: t('customer.purchases'), cls: 'num', cell: (c) => c.totalPurchases },
                { label: t('dash.paid'), cls: 'num', cell: (c) => rub(c.paidPurchasesAmount) },
              ]}
            />
          </>
        )}
      </Loading>
    </section>
  );
}
